"""Kernel destruction: DESTROY (stop the container, short grace) then CLEAN (tear down every stage
from the saved context, forget the kernel, say kernel_terminated).

Every path that ends a kernel (destroy_kernel, a container that died by itself, the reconciler,
shutdown, a restart that timed out) goes through `clean` under the kernel's lock, and only while
the kernel is still registered: so each kernel gets exactly one kernel_terminated.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from docker.errors import APIError, NotFound

from contract.events import KernelTerminated
from contract.kernels import LifecycleReason
from worker.kernels.locks import kernel_lock
from worker.kernels.services import KernelServices
from worker.stages.base import teardown_stages
from worker.stages.context import KernelContext
from worker.state.kernels import KernelRecord, KernelState

log = logging.getLogger(__name__)
CREATION_POLL = 0.05  # seconds between looks at a kernel in creation that destroy waits for


def kill_container(svc: KernelServices, container_id: str | None) -> int:
    """Remove the container at once (SIGKILL if it runs), as `docker rm -f` does; its exit code (137
    when it was killed), or -1 when it was gone. No SIGTERM grace: the runner's own shutdown SIGKILLs
    the user's code at once and everything else of the kernel is removed anyway (docs/lifecycle.md)."""
    if container_id is None:
        return -1
    api = svc.docker.api
    try:
        state = api.inspect_container(container_id)["State"]
        api.remove_container(container_id, force=True, v=True)
    except NotFound:
        return -1
    except APIError as e:
        log.warning("removing container %s: %s", container_id, e)
        return -1
    return 128 + 9 if state.get("Running") else int(state.get("ExitCode", -1))


def announce(svc: KernelServices, kernel_id: str, session_id: str, reason: LifecycleReason | str,
             exit_code: int = -1, detail: str | None = None) -> None:
    svc.events.produce(KernelTerminated(kernel_id=kernel_id, session_id=session_id, reason=str(reason),
                                        exit_code=exit_code, detail=detail))


def mark_terminating(svc: KernelServices, rec: KernelRecord, reason: LifecycleReason | str) -> None:
    """TERMINATING in the registry: the watcher and the reconciler leave the kernel alone from now."""
    rec.state, rec.termination_reason = KernelState.TERMINATING, str(reason)
    svc.registry.put(rec)


def clean(svc: KernelServices, rec: KernelRecord, reason: LifecycleReason | str, exit_code: int = -1,
          detail: str | None = None, suppress_events: bool = False) -> None:
    """CLEAN: tear down every stage the saved context records (container, scratch, allocation,
    ports, ...), remove the record, and announce. The caller holds the kernel's lock."""
    ctx = KernelContext.model_validate(rec.config)
    errors = teardown_stages(svc.pipeline.all, ctx)
    svc.registry.remove(rec.kernel_id)
    if errors:
        log.error("kernel %s: teardown errors: %s", rec.kernel_id, errors)
    if not suppress_events:
        announce(svc, rec.kernel_id, rec.session_id, reason, exit_code, detail)


def wait_for_creation(svc: KernelServices, kernel_id: str) -> None:
    """Until the kernel is no longer being created (up to the container start's own limits)."""
    settle_by = time.monotonic() + svc.settings.runner_handshake_timeout + svc.settings.docker_timeout
    while (rec := svc.registry.find(kernel_id)) is not None and rec.state is KernelState.PREPARING:
        if time.monotonic() > settle_by:
            log.warning("kernel %s is still being created: destroying what it has so far", kernel_id)
            return
        time.sleep(CREATION_POLL)


def destroy(svc: KernelServices, kernel_id: str, session_id: str | None,
            reason: LifecycleReason, suppress_events: bool = False, *, skip_preparing: bool = False) -> None:
    """DESTROY then CLEAN; an unknown kernel is announced as already-terminated. A kernel being
    created is waited for and then destroyed, so its creation cannot bring it back afterwards;
    `skip_preparing` leaves it alone instead (sync and shutdown)."""
    rec = svc.registry.find(kernel_id)
    if rec is not None and rec.state is KernelState.PREPARING:
        if skip_preparing:
            return
        wait_for_creation(svc, kernel_id)
    with kernel_lock(kernel_id):
        rec = svc.registry.find(kernel_id)
        if rec is None:
            if not suppress_events:
                announce(svc, kernel_id, session_id or "", LifecycleReason.ALREADY_TERMINATED)
            return
        if skip_preparing and rec.state is KernelState.PREPARING:
            return
        mark_terminating(svc, rec, reason)
        exit_code = kill_container(svc, rec.container_id)
        clean(svc, rec, reason, exit_code, suppress_events=suppress_events)


def clean_dead_kernel(svc: KernelServices, kernel_id: str, exit_code: int,
                      reason: LifecycleReason = LifecycleReason.SELF_TERMINATED, detail: str | None = None,
                      container_id: str | None = None) -> bool:
    """Clean a RUNNING kernel whose container died or vanished; False (nothing done) when the kernel
    is gone, being created, restarted or destroyed, or `container_id` is not its current container."""
    with kernel_lock(kernel_id):
        rec = svc.registry.find(kernel_id)
        if rec is None or rec.state is not KernelState.RUNNING:
            return False
        if container_id is not None and rec.container_id not in (None, container_id):
            return False  # an older container of a restarted kernel
        log.warning("kernel %s ended by itself (%s, exit code %s): cleaning it", kernel_id, reason, exit_code)
        mark_terminating(svc, rec, reason)
        clean(svc, rec, reason, exit_code, detail)
        return True


def destroy_many(svc: KernelServices, records: list[KernelRecord], reason: LifecycleReason) -> list[str]:
    """Destroy these kernels in parallel (skipping any that went into creation or restart meanwhile)."""
    if not records:
        return []
    with ThreadPoolExecutor(min(len(records), 16), thread_name_prefix="destroy") as pool:
        list(pool.map(lambda r: destroy(svc, r.kernel_id, r.session_id, reason, skip_preparing=True), records))
    return [r.kernel_id for r in records]


def destroy_all(svc: KernelServices, reason: LifecycleReason) -> list[str]:
    """Destroy every kernel not being created or restarted; returns their ids."""
    return destroy_many(svc, [r for r in svc.registry.all() if r.state is not KernelState.PREPARING], reason)
