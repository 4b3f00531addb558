"""Tasks of a kernel's life after creation: destroy_kernel, restart_kernel, sync_kernel_registry,
list_kernels, and the agent's own shutdown."""

from __future__ import annotations

from typing import Any

from contract import operations as ops
from contract.common import Empty
from contract.kernels import (
    DestroyKernelReq,
    KernelCreationResult,
    LifecycleReason,
    RestartKernelReq,
    SyncKernelRegistryReq,
)
from contract.system import ShutdownReq
from tasks.agent_task import agent_task
from worker.app import app
from worker.kernels.destroy import destroy
from worker.kernels.restart import restart
from worker.kernels.sync import sync_registry
from worker.runtime import host
from worker.shutdown import shutdown_kernels


@agent_task(ops.DESTROY_KERNEL)
def destroy_kernel(req: DestroyKernelReq) -> None:
    """Stop and remove the kernel's container and release everything it held."""
    destroy(host(), req.kernel_id, req.session_id, req.reason or LifecycleReason.USER_REQUESTED,
            req.suppress_events)


@agent_task(ops.RESTART_KERNEL, long=True)
def restart_kernel(req: RestartKernelReq) -> KernelCreationResult:
    """A new container for the kernel, keeping its id, allocation, ports and work files."""
    return restart(host(), req.kernel_id, req.session_id, req.kernel_image, req.updated_config)


@agent_task(ops.SYNC_KERNEL_REGISTRY)
def sync_kernel_registry(req: SyncKernelRegistryReq) -> None:
    """Agree with the manager's list of kernels (see worker/kernels/sync.py)."""
    sync_registry(host(), req.raw_kernel_session_ids)


@agent_task(ops.LIST_KERNELS)
def list_kernels(req: Empty) -> list[dict[str, Any]]:
    """This host's kernels as its registry has them (an addition to the spec, for agentctl)."""
    h = host()
    return [{"kernel_id": r.kernel_id, "session_id": r.session_id, "state": r.state.value,
             "container_id": r.container_id, "image": r.image, "created_at": r.created_at,
             "models": [m.model_dump() for m in h.models.states(r.kernel_id)]}
            for r in h.registry.all()]


@agent_task(ops.SHUTDOWN)
def shutdown(req: ShutdownReq) -> None:
    """Shut this host's agent down: SIGTERM destroys every kernel first (agent-termination), any
    other signal keeps them; then the worker stops itself (agent_terminated on the way out)."""
    h = host()
    shutdown_kernels(h, str(req.stop_signal))
    app.control.shutdown(destination=[h.settings.worker_name])
