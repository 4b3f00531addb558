"""Kernel destruction: stop the container (short grace), tear down every stage, release all."""

from __future__ import annotations

import logging

from docker.errors import APIError, NotFound

from tasks.contract import LifecycleReason
from worker.events.models import KernelTerminated
from worker.kernels.services import KernelServices
from worker.stages.base import teardown_stages
from worker.stages.context import KernelContext
from worker.state.kernels import KernelState

log = logging.getLogger(__name__)


def stop_container(svc: KernelServices, container_id: str | None) -> int:
    """Stop the container (SIGTERM, then SIGKILL after the grace period); its exit code, or -1."""
    if container_id is None:
        return -1
    api = svc.docker.api
    try:
        api.stop(container_id, timeout=int(max(svc.settings.stop_grace, 0)))
        return int(api.inspect_container(container_id)["State"]["ExitCode"])
    except NotFound:
        return -1
    except APIError as e:
        log.warning("stopping %s: %s", container_id, e)
        return -1


def destroy(svc: KernelServices, kernel_id: str, session_id: str | None,
            reason: LifecycleReason, suppress_events: bool = False) -> None:
    rec = svc.registry.find(kernel_id)
    if rec is None:
        if not suppress_events:
            svc.events.produce(KernelTerminated(kernel_id=kernel_id, session_id=session_id or "",
                                                reason=LifecycleReason.ALREADY_TERMINATED.value))
        return
    rec.state = KernelState.TERMINATING
    svc.registry.put(rec)
    exit_code = stop_container(svc, rec.container_id)
    ctx = KernelContext.model_validate(rec.config)
    errors = teardown_stages(svc.pipeline.all, ctx)
    svc.registry.remove(kernel_id)
    if errors:
        log.error("kernel %s: teardown errors: %s", kernel_id, errors)
    if not suppress_events:
        svc.events.produce(KernelTerminated(kernel_id=kernel_id, session_id=rec.session_id,
                                            reason=reason.value, exit_code=exit_code))
