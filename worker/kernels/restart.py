"""restart_kernel: DESTROY the container only (reason restarting), then make it again through the
pipeline's start stages with the same kernel id, allocation, ports and scratch (work files survive).

While it restarts the kernel's record is PREPARING, so execute, the Docker events watcher and the
reconciler leave it alone. A destroy that outlasts `restart_timeout` gives CLEAN restart-timeout and
RestartTimeout (a TimeoutError); a re-creation that fails cleans the kernel (failed-to-start).
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pydantic import ValidationError

from contract.errors import InvalidInput, KernelStartFailed, KernelUnavailable, RestartTimeout
from contract.events import KernelStarted
from contract.images import ImageRef
from contract.kernels import KernelCreationConfig, KernelCreationResult, LifecycleReason
from worker.kernels.create import creation_result
from worker.kernels.destroy import clean, kill_container, mark_terminating
from worker.kernels.locks import kernel_lock
from worker.kernels.pipeline import record_of
from worker.kernels.services import KernelServices
from worker.stages.base import run_stages, teardown_stages
from worker.stages.context import KernelContext
from worker.state.kernels import KernelRecord, KernelState

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
        try:
            ctx.kernel_config = KernelCreationConfig.model_validate(merged)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise InvalidInput(f"updated_config of kernel {rec.kernel_id}: {problems}") from None
    return ctx


def destroy_container(svc: KernelServices, ctx: KernelContext) -> KernelContext:
    """Stop and remove the container (the start stages only); nothing else of the kernel is touched."""
    kill_container(svc, ctx.container_id)
    errors = teardown_stages(svc.pipeline.start, ctx)
    if errors:
        raise KernelStartFailed(f"the old container of kernel {ctx.kernel_id} could not be removed: {errors}")
    ctx.container_id = None
    with contextlib.suppress(FileNotFoundError):  # a killed runner leaves its socket behind
        (ctx.ipc_dir / "runner.sock").unlink()
    return ctx


def restart(svc: KernelServices, kernel_id: str, session_id: str, image: ImageRef,
            updated_config: dict[str, Any]) -> KernelCreationResult:
    """Restart the kernel's container in place; returns its new creation info."""
    with kernel_lock(kernel_id):
        rec = svc.registry.get(kernel_id)
        if rec.state is not KernelState.RUNNING:
            raise KernelUnavailable(f"kernel {kernel_id} is {rec.state.value}: only a running kernel restarts")
        ctx = updated_context(rec, session_id, image, updated_config)
        rec.state, rec.termination_reason = KernelState.PREPARING, LifecycleReason.RESTARTING.value
        svc.registry.put(rec)

        pool = ThreadPoolExecutor(1, thread_name_prefix=f"restart-{kernel_id[:8]}")
        try:
            ctx = pool.submit(destroy_container, svc, ctx.model_copy(deep=True)).result(
                timeout=svc.settings.restart_timeout)
        except FutureTimeout:
            log.error("kernel %s: the old container did not go within %g s", kernel_id, svc.settings.restart_timeout)
            mark_terminating(svc, rec, LifecycleReason.RESTART_TIMEOUT)
            clean(svc, rec, LifecycleReason.RESTART_TIMEOUT)
            raise RestartTimeout(f"kernel {kernel_id}: destroying the old container took over "
                                 f"{svc.settings.restart_timeout:g} s; the kernel was cleaned") from None
        except Exception as e:
            mark_terminating(svc, rec, LifecycleReason.FAILED_TO_START)
            clean(svc, rec, LifecycleReason.FAILED_TO_START, detail=str(e))
            raise
        finally:
            pool.shutdown(wait=False)
        try:
            svc.registry.put(_restarting(record_of(ctx)))
            with svc.slots.hold(kernel_id):
                run_stages(svc.pipeline.start, ctx, lambda c: svc.registry.put(_restarting(record_of(c))))
        except Exception as e:
            log.error("kernel %s failed to start again: %s", kernel_id, e)
            rec = _restarting(record_of(ctx))
            mark_terminating(svc, rec, LifecycleReason.FAILED_TO_START)
            clean(svc, rec, LifecycleReason.FAILED_TO_START, detail=str(e))
            raise KernelStartFailed(f"kernel {kernel_id} did not start again: {e}") from None
        result = creation_result(svc, ctx)
        rec = record_of(ctx)
        rec.state, rec.creation_info = KernelState.RUNNING, result.model_dump(mode="json")
        svc.registry.put(rec)
        svc.events.produce(KernelStarted(kernel_id=kernel_id, session_id=rec.session_id,
                                         creation_info=rec.creation_info))
        return result


def _restarting(rec: KernelRecord) -> KernelRecord:
    rec.termination_reason = LifecycleReason.RESTARTING.value
    return rec
