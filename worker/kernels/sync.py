"""sync_kernel_registry: make this host's registry agree with the manager's list of kernels."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from contract.kernels import LifecycleReason
from worker.kernels.destroy import announce, destroy_many
from worker.state.kernels import KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)


def sync_registry(h: Host, kernel_session_ids: list[tuple[str, str]]) -> list[str]:
    """Kernels the manager lists but this host does not know: kernel_terminated already-terminated.
    Running kernels here that the manager does not list: destroyed (not-found-in-manager). Kernels
    being created, restarted or destroyed are left alone. Returns the ids destroyed."""
    listed = dict(kernel_session_ids)
    records = h.registry.all()
    known = {r.kernel_id for r in records}
    for kernel_id, session_id in listed.items():
        if kernel_id not in known:
            announce(h, kernel_id, session_id, LifecycleReason.ALREADY_TERMINATED)
    stale = [r for r in records if r.kernel_id not in listed and r.state is KernelState.RUNNING]
    if stale:
        log.warning("the manager does not know kernels %s: destroying them", [r.kernel_id for r in stale])
    return destroy_many(h, stale, LifecycleReason.NOT_FOUND_IN_MANAGER)
