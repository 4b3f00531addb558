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
from typing import TYPE_CHECKING

from docker.errors import APIError, NotFound

from contract.events import KernelTerminated
from contract.kernels import LifecycleReason
from worker.kernels.locks import kernel_lock
from worker.pipeline.context import KernelContext
from worker.pipeline.run import teardown
from worker.state.kernels import KernelRecord, KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)
CREATION_POLL = 0.05  # seconds between looks at a kernel in creation that destroy waits for


def kill_container(h: Host, container_id: str | None) -> int:
    """Remove the container at once (SIGKILL if it runs), as `docker rm -f` does; its exit code (137
    when it was killed), or -1 when it was gone. No SIGTERM grace: the runner's own shutdown SIGKILLs
    the user's code at once and everything else of the kernel is removed anyway (docs/lifecycle.md)."""
    if container_id is None:
        return -1
    api = h.docker.api
    try:
        state = api.inspect_container(container_id)["State"]
        api.remove_container(container_id, force=True, v=True)
    except NotFound:
        return -1
    except APIError as e:
        log.warning("removing container %s: %s", container_id, e)
        return -1
    return 128 + 9 if state.get("Running") else int(state.get("ExitCode", -1))


def announce(h: Host, kernel_id: str, session_id: str, reason: LifecycleReason | str,
             exit_code: int = -1, detail: str | None = None) -> None:
    h.events.produce(KernelTerminated(kernel_id=kernel_id, session_id=session_id, reason=str(reason),
                                        exit_code=exit_code, detail=detail))


def mark_terminating(h: Host, rec: KernelRecord, reason: LifecycleReason | str) -> None:
    """TERMINATING in the registry: the watcher and the reconciler leave the kernel alone from now."""
    rec.state, rec.termination_reason = KernelState.TERMINATING, str(reason)
    h.registry.put(rec)


def clean(h: Host, rec: KernelRecord, reason: LifecycleReason | str, exit_code: int = -1,
          detail: str | None = None, suppress_events: bool = False) -> None:
    """CLEAN: tear down every stage the saved context records (container, scratch, allocation,
    ports, ...), remove the record, and announce. The caller holds the kernel's lock."""
    ctx = KernelContext.model_validate(rec.config)
    errors = teardown(h.pipeline, ctx)
    h.models.unwatch(rec.kernel_id)
    h.runners.close(rec.runner_socket)
    h.secrets.remove(rec.kernel_id)
    h.registry.remove(rec.kernel_id)
    h.metrics.destroys.labels(str(reason)).inc()
    if errors:
        log.error("kernel %s: teardown errors: %s", rec.kernel_id, errors)
    if not suppress_events:
        announce(h, rec.kernel_id, rec.session_id, reason, exit_code, detail)


def wait_for_creation(h: Host, kernel_id: str) -> None:
    """Until the kernel is no longer being created (up to the container start's own limits)."""
    settle_by = time.monotonic() + h.settings.runner_handshake_timeout + h.settings.docker_timeout
    while (rec := h.registry.find(kernel_id)) is not None and rec.state is KernelState.PREPARING:
        if time.monotonic() > settle_by:
            log.warning("kernel %s is still being created: destroying what it has so far", kernel_id)
            return
        time.sleep(CREATION_POLL)


def destroy(h: Host, kernel_id: str, session_id: str | None,
            reason: LifecycleReason, suppress_events: bool = False, *, skip_preparing: bool = False) -> None:
    """DESTROY then CLEAN; an unknown kernel is announced as already-terminated. A kernel being
    created is waited for and then destroyed, so its creation cannot bring it back afterwards;
    `skip_preparing` leaves it alone instead (sync and shutdown)."""
    rec = h.registry.find(kernel_id)
    if rec is not None and rec.state is KernelState.PREPARING:
        if skip_preparing:
            return
        wait_for_creation(h, kernel_id)
    with kernel_lock(kernel_id):
        rec = h.registry.find(kernel_id)
        if rec is None:
            if not suppress_events:
                announce(h, kernel_id, session_id or "", LifecycleReason.ALREADY_TERMINATED)
            return
        if skip_preparing and rec.state is KernelState.PREPARING:
            return
        mark_terminating(h, rec, reason)
        exit_code = kill_container(h, rec.container_id)
        clean(h, rec, reason, exit_code, suppress_events=suppress_events)


def clean_dead_kernel(h: Host, kernel_id: str, exit_code: int,
                      reason: LifecycleReason = LifecycleReason.SELF_TERMINATED, detail: str | None = None,
                      container_id: str | None = None) -> bool:
    """Clean a RUNNING kernel whose container died or vanished; False (nothing done) when the kernel
    is gone, being created, restarted or destroyed, or `container_id` is not its current container."""
    with kernel_lock(kernel_id):
        rec = h.registry.find(kernel_id)
        if rec is None or rec.state is not KernelState.RUNNING:
            return False
        if container_id is not None and rec.container_id not in (None, container_id):
            return False  # an older container of a restarted kernel
        log.warning("kernel %s ended by itself (%s, exit code %s): cleaning it", kernel_id, reason, exit_code)
        mark_terminating(h, rec, reason)
        clean(h, rec, reason, exit_code, detail)
        return True


def destroy_many(h: Host, records: list[KernelRecord], reason: LifecycleReason) -> list[str]:
    """Destroy these kernels in parallel (skipping any that went into creation or restart meanwhile)."""
    if not records:
        return []
    with ThreadPoolExecutor(min(len(records), 16), thread_name_prefix="destroy") as pool:
        list(pool.map(lambda r: destroy(h, r.kernel_id, r.session_id, reason, skip_preparing=True), records))
    return [r.kernel_id for r in records]


def destroy_all(h: Host, reason: LifecycleReason) -> list[str]:
    """Destroy every kernel not being created or restarted; returns their ids."""
    return destroy_many(h, [r for r in h.registry.all() if r.state is not KernelState.PREPARING], reason)
