"""Kernel creation: plan (validate, create nothing), provision (the pipeline's provision step: the
image pull alongside the host-side stages), start (container and handshake), and abort (tear
everything down, say why).

Both steps are idempotent by kernel id: a redelivered step continues from the context saved in
the registry. A second creation of a kernel id that another creation holds is refused, never
aborted over the first.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from contract.errors import InvalidInput, KernelCreationFailed, KernelIdInUse, KernelStartFailed, ResourceExhausted
from contract.events import (
    DoAgentResourceCheck,
    KernelCreating,
    KernelPreparing,
    KernelPulling,
    KernelStage,
    KernelTerminated,
)
from contract.inference import ModelDefinition, path_is_below
from contract.kernels import CreateKernelsReq, KernelCreationConfig, KernelCreationResult, LifecycleReason
from contract.validation import parse
from worker.events import EventProducer
from worker.files.paths import WORK_ROOT
from worker.kernels.admission import check_creation_input
from worker.kernels.records import mark_running, record_of
from worker.pipeline.context import KernelContext
from worker.pipeline.run import run_step, teardown
from worker.resources.slots import parse_slots
from worker.stages.image import ImageSpec, PullDecided
from worker.state.kernels import KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)
T = TypeVar("T")


class PlanEntry(BaseModel):
    """One kernel's progress through the creation chain (JSON between the chain's steps)."""

    ctx: KernelContext
    error: str | None = None


def plan(h: Host, req: CreateKernelsReq, result_id: str | None) -> list[PlanEntry]:
    """Check the whole request and build each kernel's context, its secrets kept apart (the only
    thing written: nothing is written when the request is refused)."""
    if len(req.raw_kernel_ids) != len(req.raw_configs):
        raise InvalidInput(f"raw_kernel_ids has {len(req.raw_kernel_ids)} ids but raw_configs has "
                           f"{len(req.raw_configs)} configs")
    if len(set(req.raw_kernel_ids)) != len(req.raw_kernel_ids):
        raise InvalidInput("raw_kernel_ids has duplicates")
    check_creation_input(h, req)
    s = h.settings
    entries = []
    for i, (kernel_id, config) in enumerate(zip(req.raw_kernel_ids, req.raw_configs, strict=True)):
        # an unknown slot or a bad amount fails here, before anything
        parse_slots(config.resource_slots, h.allocator.capacity.slots, s.fractional_cpu)
        check_model_definition(config, f"raw_configs.{i}")
        ref = req.kernel_image_refs.get(kernel_id)
        if ref is not None and normalized_arch(ref.architecture) != normalized_arch(platform.machine()):
            raise InvalidInput(f"kernel_image_refs.{kernel_id}.architecture: the image is built for "
                               f"{ref.architecture}, this host is {platform.machine()}")
        _refuse_taken(h, kernel_id, result_id)
        entries.append(PlanEntry(ctx=KernelContext(
            kernel_id=kernel_id, session_id=req.raw_session_id, kernel_config=config,
            cluster_info=req.raw_cluster_info, agent_id=s.id, result_id=result_id,
            scratch_dir=s.scratch_dir / kernel_id, ipc_dir=s.ipc_dir / kernel_id,
            uid=config.uid if config.uid is not None else s.kernel_uid,
            gid=config.main_gid if config.main_gid is not None else s.kernel_gid,
            supplementary_gids=config.supplementary_gids, internal_data=config.internal_data or {},
        )))
    return [PlanEntry(ctx=h.secrets.masked(e.ctx)) for e in entries]


def check_model_definition(config: KernelCreationConfig, where: str) -> None:
    """An inference kernel needs a valid model definition whose models are in the kernel (below a
    mounted vfolder or /home/work); InvalidInput naming the field otherwise."""
    if config.session_type != "inference":
        return
    field = f"{where}.internal_data.model_definition"
    raw = (config.internal_data or {}).get("model_definition")
    if raw is None:
        raise InvalidInput(f"{field}: an inference session needs a model definition")
    definition = parse(ModelDefinition, raw, f"invalid input to agent.create_kernels: {field}")
    roots = [WORK_ROOT, *(m.kernel_path for m in config.mounts)]
    for j, model in enumerate(definition.models):
        if not path_is_below(model.model_path, roots):
            raise InvalidInput(f"{field}.models.{j}.model_path: {model.model_path} is not in the kernel "
                               f"(it must be below a mounted vfolder or {WORK_ROOT})")


def _refuse_taken(h: Host, kernel_id: str, result_id: str | None) -> None:
    """KernelIdInUse when another creation (not this one, redelivered) holds the kernel id."""
    rec = h.registry.find(kernel_id)
    if rec is not None and rec.config.get("result_id") != result_id:
        raise KernelIdInUse(f"kernel {kernel_id} already exists on this host ({rec.state.value}); "
                            "a kernel id is created once")


def normalized_arch(name: str) -> str:
    """Docker's and the kernel's names for one architecture as one name (amd64 -> x86_64)."""
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name.lower(), name.lower())


def announce(h: Host, entries: list[PlanEntry]) -> None:
    for e in entries:
        h.events.produce(KernelPreparing(kernel_id=e.ctx.kernel_id, session_id=e.ctx.session_id))


def pull_decided(events: EventProducer) -> PullDecided:
    """What the image stage tells once it knows whether it pulls: kernel_pulling (when it does),
    then kernel_creating."""

    def decided(spec: ImageSpec, pulling: bool) -> None:
        if pulling:
            events.produce(KernelPulling(kernel_id=spec.kernel_id, session_id=spec.session_id,
                                         reason=spec.config.canonical))
        events.produce(KernelCreating(kernel_id=spec.kernel_id, session_id=spec.session_id))

    return decided


def _latest(h: Host, ctx: KernelContext) -> KernelContext:
    """The context as last saved in the registry (a redelivered step continues from there)."""
    rec = h.registry.find(ctx.kernel_id)
    return KernelContext.model_validate(rec.config) if rec is not None and rec.config else ctx


def _stage_done(h: Host) -> Callable[[KernelContext, str, float], None]:
    """After each stage: the context saved, the stage's time in the metrics, and kernel_stage (sent
    with the creation's next event or at the step's end: a round trip per stage cost more than most
    stages take)."""

    def done(ctx: KernelContext, stage: str, seconds: float) -> None:
        h.registry.update(record_of(ctx))
        h.metrics.stage_seconds.labels(stage).observe(seconds)
        h.events.defer(KernelStage(kernel_id=ctx.kernel_id, session_id=ctx.session_id, stage=stage,
                                   seconds=round(seconds, 4)))

    return done


def provision(h: Host, ctx: KernelContext) -> KernelContext:
    """The provision step: every stage up to the kernel's record; returns the updated context."""
    if not h.registry.add_new(record_of(ctx)):
        _refuse_taken(h, ctx.kernel_id, ctx.result_id)
        ctx = _latest(h, ctx)
    try:
        run_step(h.pipeline, "provision", ctx, parallel=h.settings.stage_parallelism, on_done=_stage_done(h))
    except ResourceExhausted:
        h.events.produce(DoAgentResourceCheck(agent_id=h.settings.id))
        raise
    finally:
        h.events.flush()
    return ctx


def start(h: Host, ctx: KernelContext) -> KernelCreationResult:
    """The start step: the container and the runner's handshake; the kernel is then RUNNING."""
    ctx = _latest(h, ctx)
    rec = h.registry.get(ctx.kernel_id)
    if rec.state == KernelState.RUNNING:
        return KernelCreationResult.model_validate(rec.creation_info)  # a redelivered step
    try:
        with h.slots.hold(ctx.kernel_id):
            run_step(h.pipeline, "start", ctx, parallel=h.settings.stage_parallelism, on_done=_stage_done(h))
    except BaseException:
        h.events.flush()
        raise
    result = mark_running(h, ctx)  # its kernel_started carries the stage events
    h.metrics.creations.labels("created").inc()
    return result


def failure_reason(exc: BaseException) -> LifecycleReason:
    return LifecycleReason.FAILED_TO_START if isinstance(exc, KernelStartFailed) else LifecycleReason.FAILED_TO_CREATE


def abort(h: Host, ctx: KernelContext, reason: LifecycleReason, detail: str) -> None:
    """Tear down everything made for the kernel (what a stage cut short left too), forget it, and
    say so (kernel_terminated) unless a destroy already removed its record and said so."""
    known = h.registry.find(ctx.kernel_id) is not None
    ctx = _latest(h, ctx)
    errors = teardown(h.pipeline, ctx, leftovers=True)
    h.registry.remove(ctx.kernel_id)
    h.secrets.remove(ctx.kernel_id)
    if errors:
        log.error("kernel %s: teardown left errors: %s", ctx.kernel_id, errors)
    h.metrics.creations.labels("failed").inc()
    if known:
        h.events.produce(KernelTerminated(kernel_id=ctx.kernel_id, session_id=ctx.session_id,
                                          reason=reason.value, detail=detail))


def for_each_kernel(h: Host, plan: list[PlanEntry], work: Callable[[KernelContext], T],
                    settled: Callable[[str], bool]) -> list[tuple[PlanEntry, T | None]]:
    """Run `work` for every kernel of `plan` not failed yet, in parallel threads; a kernel whose
    work fails is torn down (abort) and its entry carries the error."""

    def one(entry: PlanEntry) -> tuple[PlanEntry, T | None]:
        if entry.error is not None:
            return entry, None
        try:
            if entry.ctx.result_id and settled(entry.ctx.result_id):
                # redelivered after recovery already failed this creation: never make it again
                return PlanEntry(ctx=entry.ctx, error="creation was abandoned by an agent restart"), None
            return entry, work(entry.ctx)
        except KernelIdInUse as exc:  # another creation's kernel: not ours to tear down
            h.secrets.forget(entry.ctx)
            return PlanEntry(ctx=entry.ctx, error=f"{type(exc).__name__}: {exc}"), None
        except Exception as exc:
            abort(h, entry.ctx, failure_reason(exc), str(exc))
            return PlanEntry(ctx=entry.ctx, error=f"{type(exc).__name__}: {exc}"), None

    with ThreadPoolExecutor(max(1, len(plan)), thread_name_prefix="kernel") as pool:
        return list(pool.map(one, plan))


def provision_all(h: Host, plan: list[PlanEntry], settled: Callable[[str], bool]) -> list[PlanEntry]:
    """The chain's first step for every kernel of the request."""
    done = for_each_kernel(h, plan, lambda ctx: provision(h, ctx), settled)
    return [PlanEntry(ctx=ctx or e.ctx, error=e.error) for e, ctx in done]


def start_all(h: Host, plan: list[PlanEntry], settled: Callable[[str], bool]) -> list[KernelCreationResult]:
    """The chain's last step; one error naming every kernel that failed (and those that did not)."""
    done = for_each_kernel(h, plan, lambda ctx: start(h, ctx), settled)
    failed = [e for e, _ in done if e.error is not None]
    created = [r for _, r in done if r is not None]
    if failed:
        detail = "; ".join(f"kernel {e.ctx.kernel_id}: {e.error}" for e in failed)
        kept = f"; created and still running: {', '.join(r.id for r in created)}" if created else ""
        raise KernelCreationFailed(f"{len(failed)} of {len(done)} kernels failed to be created ({detail}){kept}")
    return created
