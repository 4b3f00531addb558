"""Tasks of a kernel's life after creation: destroy_kernel."""

from __future__ import annotations

from tasks.agent_task import agent_task
from tasks.contract import DestroyKernelReq, LifecycleReason
from worker.host import host
from worker.kernels.destroy import destroy


@agent_task("agent.destroy_kernel", DestroyKernelReq)
def destroy_kernel(req: DestroyKernelReq) -> None:
    """Stop and remove the kernel's container and release everything it held."""
    destroy(host().kernels, req.kernel_id, req.session_id, req.reason or LifecycleReason.USER_REQUESTED,
            req.suppress_events)
