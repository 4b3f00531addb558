"""restart_kernel: DESTROY the container only (reason restarting), then make it again through the
pipeline's start stages with the same kernel id, allocation, ports and scratch (work files survive).

While it restarts the kernel's record is PREPARING, so execute, the Docker events watcher and the
reconciler leave it alone. A destroy that outlasts `restart_timeout` gives CLEAN restart-timeout and
RestartTimeout (a TimeoutError); a re-creation that fails cleans the kernel (failed-to-start).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from contract.errors import InvalidInput, KernelStartFailed, KernelUnavailable, RestartTimeout
from contract.images import ImageRef
from contract.kernels import KernelCreationConfig, KernelCreationResult, LifecycleReason
from contract.validation import parse
from worker.kernels.destroy import clean, kill_container, mark_terminating
from worker.kernels.locks import kernel_lock
from worker.kernels.records import mark_running, record_of
from worker.pipeline.context import KernelContext
from worker.pipeline.run import run_step, teardown
from worker.state.kernels import KernelRecord, KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)


def updated_context(rec: KernelRecord, session_id: str, image: ImageRef,
                    updated_config: dict[str, Any]) -> KernelContext:
    """The kernel's saved context with `updated_config` merged over its creation config (validated)."""
    if rec.session_id != session_id:
        raise InvalidInput(f"kernel {rec.kernel_id} belongs to session {rec.session_id}, not {session_id}")
    ctx = KernelContext.model_validate(rec.config)
    if image.canonical != ctx.kernel_config.image.canonical:
        raise InvalidInput(f"restart_kernel keeps a kernel's image: kernel {rec.kernel_id} runs "
                           f"{ctx.kernel_config.image.canonical}, not {image.canonical}")
    if updated_config:
        merged = {**ctx.kernel_config.model_dump(mode="json"), **updated_config}
        ctx.kernel_config = parse(KernelCreationConfig, merged, f"updated_config of kernel {rec.kernel_id}")
    return ctx


def destroy_container(h: Host, ctx: KernelContext) -> KernelContext:
    """Stop and remove the container (the start stages only); nothing else of the kernel is touched."""
    kill_container(h, record_of(ctx).container_id)
    errors = teardown(h.pipeline, ctx, step="start")
    if errors:
        raise KernelStartFailed(f"the old container of kernel {ctx.kernel_id} could not be removed: {errors}")
    return ctx


def restart(h: Host, kernel_id: str, session_id: str, image: ImageRef,
            updated_config: dict[str, Any]) -> KernelCreationResult:
    """Restart the kernel's container in place; returns its new creation info."""
    with kernel_lock(kernel_id):
        rec = h.registry.get(kernel_id)
        if rec.state is not KernelState.RUNNING:
            raise KernelUnavailable(f"kernel {kernel_id} is {rec.state.value}: only a running kernel restarts")
        ctx = updated_context(rec, session_id, image, updated_config)
        rec.state, rec.termination_reason = KernelState.PREPARING, LifecycleReason.RESTARTING.value
        h.registry.put(rec)

        pool = ThreadPoolExecutor(1, thread_name_prefix=f"restart-{kernel_id[:8]}")
        try:
            ctx = pool.submit(destroy_container, h, ctx.model_copy(deep=True)).result(
                timeout=h.settings.restart_timeout)
        except FutureTimeout:
            log.error("kernel %s: the old container did not go within %g s", kernel_id, h.settings.restart_timeout)
            mark_terminating(h, rec, LifecycleReason.RESTART_TIMEOUT)
            clean(h, rec, LifecycleReason.RESTART_TIMEOUT)
            raise RestartTimeout(f"kernel {kernel_id}: destroying the old container took over "
                                 f"{h.settings.restart_timeout:g} s; the kernel was cleaned") from None
        except Exception as e:
            mark_terminating(h, rec, LifecycleReason.FAILED_TO_START)
            clean(h, rec, LifecycleReason.FAILED_TO_START, detail=str(e))
            raise
        finally:
            pool.shutdown(wait=False)
        try:
            h.registry.put(_restarting(record_of(ctx)))
            with h.slots.hold(kernel_id):
                run_step(h.pipeline, "start", ctx, parallel=h.settings.stage_parallelism,
                         on_done=lambda c, stage, seconds: h.registry.put(_restarting(record_of(c))))
        except Exception as e:
            log.error("kernel %s failed to start again: %s", kernel_id, e)
            rec = _restarting(record_of(ctx))
            mark_terminating(h, rec, LifecycleReason.FAILED_TO_START)
            clean(h, rec, LifecycleReason.FAILED_TO_START, detail=str(e))
            raise KernelStartFailed(f"kernel {kernel_id} did not start again: {e}") from None
        return mark_running(h, ctx)


def _restarting(rec: KernelRecord) -> KernelRecord:
    rec.termination_reason = LifecycleReason.RESTARTING.value
    return rec
