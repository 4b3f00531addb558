"""What the agent does at start about kernels a previous run left half-made.

A creation in flight when the worker died (SIGKILL, power loss) left a PREPARING record whose
saved context says exactly which stages were set up: those are torn down, the caller's result is
failed (so it never waits forever), and kernel_terminated says why. No creation can be in flight at
start, so every creation slot is free again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from contract.kernels import LifecycleReason
from worker.kernels.create import abort
from worker.pipeline.context import KernelContext
from worker.state.kernels import KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)
INTERRUPTED = "the agent restarted while this kernel was being created; everything made for it was removed"


def recover_interrupted_creations(h: Host, fail_result: Callable[[str, str], None]) -> list[str]:
    """Clean every half-made kernel; returns their ids."""
    h.slots.clear()
    cleaned = []
    for rec in h.registry.all():
        if rec.state != KernelState.PREPARING:
            continue
        ctx = KernelContext.model_validate(rec.config)
        log.warning("kernel %s was half-made when the agent stopped: cleaning it", rec.kernel_id)
        abort(h, ctx, LifecycleReason.FAILED_TO_CREATE, INTERRUPTED)
        if ctx.result_id:
            fail_result(ctx.result_id, f"kernel {rec.kernel_id}: {INTERRUPTED}")
        cleaned.append(rec.kernel_id)
    return cleaned
