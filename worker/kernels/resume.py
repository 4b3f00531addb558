"""What the agent does at start about the kernels a previous run left (after the half-made
creations of worker/kernels/recovery.py): running kernels are kept and re-attached (their record,
allocation and ports are in the state database, their runner's socket in the ipc dir); a destroy
or restart the previous run did not finish is finished; then one reconcile pass with no grace
(nothing can be in flight at start) cleans dead kernels, unknown containers and leftovers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from contract.kernels import LifecycleReason
from worker.kernels.destroy import clean, kill_container, mark_terminating
from worker.kernels.locks import kernel_lock
from worker.kernels.reconcile import ReconcileReport, reconcile
from worker.state.kernels import KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)
RESTART_INTERRUPTED = "the agent stopped while this kernel was restarting"


def finish_interrupted_lifecycle(h: Host) -> list[str]:
    """Finish destroys (TERMINATING) and restarts (PREPARING, reason restarting) cut by a crash."""
    finished = []
    for rec in h.registry.all():
        restarting = rec.state is KernelState.PREPARING and rec.termination_reason == LifecycleReason.RESTARTING
        if rec.state is not KernelState.TERMINATING and not restarting:
            continue
        with kernel_lock(rec.kernel_id):
            log.warning("kernel %s: finishing what the previous run left (%s)", rec.kernel_id, rec.termination_reason)
            if restarting:
                mark_terminating(h, rec, LifecycleReason.FAILED_TO_START)
                clean(h, rec, LifecycleReason.FAILED_TO_START, detail=RESTART_INTERRUPTED)
            else:
                exit_code = kill_container(h, rec.container_id)
                clean(h, rec, rec.termination_reason or LifecycleReason.UNKNOWN, exit_code)
        finished.append(rec.kernel_id)
    return finished


def resume_kernels(h: Host) -> ReconcileReport:
    """Keep the running kernels; one reconcile pass with no grace cleans everything else."""
    report = reconcile(h, grace=0.0)
    kept = [r.kernel_id for r in h.registry.all() if r.state is KernelState.RUNNING]
    log.info("resumed %d running kernels; reconciled: %s", len(kept), report)
    return report
