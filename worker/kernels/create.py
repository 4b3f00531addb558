"""Kernel creation: plan (validate, create nothing), provision (image pull alongside the host-side
stages), start (container and handshake), and abort (tear everything down, say why)."""

from __future__ import annotations

import dataclasses
import logging
import platform
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pydantic import BaseModel

from contract.errors import InvalidInput, KernelCreationFailed, KernelStartFailed, ResourceExhausted
from contract.events import (
    DoAgentResourceCheck,
    KernelCreating,
    KernelPreparing,
    KernelPulling,
    KernelStarted,
    KernelTerminated,
)
from contract.kernels import CreateKernelsReq, KernelCreationResult, LifecycleReason
from worker.kernels.pipeline import record_of
from worker.kernels.services import KernelServices
from worker.resources.slots import parse_slots
from worker.stages.base import run_stages, teardown_stages
from worker.stages.context import KernelContext
from worker.stages.image import ImageInfo
from worker.state.kernels import KernelState

log = logging.getLogger(__name__)
T = TypeVar("T")


class PlanEntry(BaseModel):
    """One kernel's progress through the creation chain (JSON between the chain's steps)."""

    ctx: KernelContext
    error: str | None = None


def plan(svc: KernelServices, req: CreateKernelsReq, result_id: str | None) -> list[PlanEntry]:
    """Check the whole request and build each kernel's context; nothing on the host changes."""
    if len(req.raw_kernel_ids) != len(req.raw_configs):
        raise InvalidInput(f"raw_kernel_ids has {len(req.raw_kernel_ids)} ids but raw_configs has "
                           f"{len(req.raw_configs)} configs")
    if len(set(req.raw_kernel_ids)) != len(req.raw_kernel_ids):
        raise InvalidInput("raw_kernel_ids has duplicates")
    s = svc.settings
    entries = []
    for kernel_id, config in zip(req.raw_kernel_ids, req.raw_configs, strict=True):
        parse_slots(config.resource_slots)  # an unknown slot or a bad amount fails here, before anything
        ref = req.kernel_image_refs.get(kernel_id)
        if ref is not None and normalized_arch(ref.architecture) != normalized_arch(platform.machine()):
            raise InvalidInput(f"kernel_image_refs.{kernel_id}.architecture: the image is built for "
                               f"{ref.architecture}, this host is {platform.machine()}")
        entries.append(PlanEntry(ctx=KernelContext(
            kernel_id=kernel_id, session_id=req.raw_session_id, kernel_config=config,
            cluster_info=req.raw_cluster_info, agent_id=s.id, result_id=result_id,
            scratch_dir=s.scratch_dir / kernel_id, ipc_dir=s.ipc_dir / kernel_id,
            uid=config.uid if config.uid is not None else s.kernel_uid,
            gid=config.main_gid if config.main_gid is not None else s.kernel_gid,
            supplementary_gids=config.supplementary_gids, internal_data=config.internal_data or {},
        )))
    return entries


def normalized_arch(name: str) -> str:
    """Docker's and the kernel's names for one architecture as one name (amd64 -> x86_64)."""
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name.lower(), name.lower())


def announce(svc: KernelServices, entries: list[PlanEntry]) -> None:
    for e in entries:
        svc.events.produce(KernelPreparing(kernel_id=e.ctx.kernel_id, session_id=e.ctx.session_id))


def _latest(svc: KernelServices, ctx: KernelContext) -> KernelContext:
    """The context as last saved in the registry (a redelivered step continues from there)."""
    rec = svc.registry.find(ctx.kernel_id)
    return KernelContext.model_validate(rec.config) if rec is not None and rec.config else ctx


def provision(svc: KernelServices, ctx: KernelContext) -> KernelContext:
    """Pull the image (if needed) while the host-side stages run; returns the updated context."""
    if not svc.registry.add_new(record_of(ctx)):
        ctx = _latest(svc, ctx)

    def save(c: KernelContext) -> None:
        svc.registry.update(record_of(c))

    pipe = svc.pipeline
    split = next(i for i, st in enumerate(pipe.prepare) if st.name == "service_ports")
    decided = threading.Event()  # the pull stage knows whether it pulls: kernel_pulling comes first

    def on_pull() -> None:
        svc.events.produce(KernelPulling(kernel_id=ctx.kernel_id, session_id=ctx.session_id,
                                         reason=ctx.kernel_config.image.canonical))
        decided.set()

    def pull() -> ImageInfo:
        started = time.perf_counter()
        try:
            spec = dataclasses.replace(pipe.pull.spec(ctx), on_pull=on_pull)
            image: ImageInfo = pipe.pull.provisioner.setup(spec)
            return image
        finally:
            decided.set()
            ctx.timings[pipe.pull.name] = round(time.perf_counter() - started, 4)

    with ThreadPoolExecutor(1, thread_name_prefix=f"pull-{ctx.kernel_id[:8]}") as pool:
        pulled = pool.submit(pull) if pipe.pull.name not in ctx.done else None
        if pulled is not None:
            decided.wait()
        svc.events.produce(KernelCreating(kernel_id=ctx.kernel_id, session_id=ctx.session_id))
        try:
            run_stages(pipe.prepare[:split], ctx, save)
        except ResourceExhausted:
            svc.events.produce(DoAgentResourceCheck(agent_id=svc.settings.id))
            raise
        finally:
            if pulled is not None:
                image = pulled.result()  # waits for the pull; its error wins if both failed
                ctx.resources[pipe.pull.name] = image.model_dump(mode="json")
                ctx.done.insert(0, pipe.pull.name)
                pipe.pull.apply(ctx, image)
                save(ctx)
    run_stages(pipe.prepare[split:], ctx, save)
    return ctx


def start(svc: KernelServices, ctx: KernelContext) -> KernelCreationResult:
    """Create the container and wait for the runner's handshake; the kernel is then RUNNING."""
    ctx = _latest(svc, ctx)
    rec = svc.registry.get(ctx.kernel_id)
    if rec.state == KernelState.RUNNING:
        return KernelCreationResult.model_validate(rec.creation_info)  # a redelivered step
    with svc.slots.hold(ctx.kernel_id):
        run_stages(svc.pipeline.start, ctx, lambda c: svc.registry.update(record_of(c)))
    result = creation_result(svc, ctx)
    rec = record_of(ctx)
    rec.state, rec.creation_info = KernelState.RUNNING, result.model_dump(mode="json")
    svc.registry.update(rec)
    svc.events.produce(KernelStarted(kernel_id=ctx.kernel_id, session_id=ctx.session_id,
                                     creation_info=rec.creation_info))
    return result


def creation_result(svc: KernelServices, ctx: KernelContext) -> KernelCreationResult:
    s = svc.settings
    devices = {d.device_id: d for d in s.mock_devices}
    mock = [{"device_id": d, "model_name": devices[d].model_name, "data": {"mem": devices[d].memory_size}}
            for d in ctx.resource_spec.get("mock_devices", [])]
    return KernelCreationResult(
        id=ctx.kernel_id, kernel_host=s.bind_host, container_id=ctx.container_id or "",
        service_ports=ctx.service_ports, resource_spec=ctx.resource_spec,
        attached_devices={"mock": mock} if mock else {}, agent_addr=s.queue, scaling_group=s.scaling_group,
    )


def failure_reason(exc: BaseException) -> LifecycleReason:
    return LifecycleReason.FAILED_TO_START if isinstance(exc, KernelStartFailed) else LifecycleReason.FAILED_TO_CREATE


def abort(svc: KernelServices, ctx: KernelContext, reason: LifecycleReason, detail: str) -> None:
    """Tear down everything made for the kernel, forget it, and say so (kernel_terminated) unless a
    destroy already removed its record and said so."""
    known = svc.registry.find(ctx.kernel_id) is not None
    ctx = _latest(svc, ctx)
    if ctx.container_id is None and "container_creation" not in ctx.done:
        # the container may exist without being recorded (a crash between create and save)
        found = svc.pipeline.containers.find(ctx.kernel_id)
        if found:
            ctx.done.append("container_creation")
            ctx.resources["container_creation"] = {"container_id": found, "kernel_id": ctx.kernel_id}
    errors = teardown_stages(svc.pipeline.all, ctx)
    svc.registry.remove(ctx.kernel_id)
    if errors:
        log.error("kernel %s: teardown left errors: %s", ctx.kernel_id, errors)
    if known:
        svc.events.produce(KernelTerminated(kernel_id=ctx.kernel_id, session_id=ctx.session_id,
                                            reason=reason.value, detail=detail))


def for_each_kernel(svc: KernelServices, plan: list[PlanEntry], work: Callable[[KernelContext], T],
                    settled: Callable[[str], bool]) -> list[tuple[PlanEntry, T | None]]:
    """Run `work` for every kernel of `plan` not failed yet, in parallel threads; a kernel whose
    work fails is torn down (abort) and its entry carries the error."""

    def one(entry: PlanEntry) -> tuple[PlanEntry, T | None]:
        if entry.error is not None:
            return entry, None
        if entry.ctx.result_id and settled(entry.ctx.result_id):
            # redelivered after recovery already failed this creation: never make it again
            return PlanEntry(ctx=entry.ctx, error="creation was abandoned by an agent restart"), None
        try:
            return entry, work(entry.ctx)
        except Exception as exc:
            abort(svc, entry.ctx, failure_reason(exc), str(exc))
            return PlanEntry(ctx=entry.ctx, error=f"{type(exc).__name__}: {exc}"), None

    with ThreadPoolExecutor(max(1, len(plan)), thread_name_prefix="kernel") as pool:
        return list(pool.map(one, plan))


def provision_all(svc: KernelServices, plan: list[PlanEntry], settled: Callable[[str], bool]) -> list[PlanEntry]:
    """The chain's first step for every kernel of the request."""
    done = for_each_kernel(svc, plan, lambda ctx: provision(svc, ctx), settled)
    return [PlanEntry(ctx=ctx or e.ctx, error=e.error) for e, ctx in done]


def start_all(svc: KernelServices, plan: list[PlanEntry],
              settled: Callable[[str], bool]) -> list[KernelCreationResult]:
    """The chain's last step; one error naming every kernel that failed (and those that did not)."""
    done = for_each_kernel(svc, plan, lambda ctx: start(svc, ctx), settled)
    failed = [e for e, _ in done if e.error is not None]
    created = [r for _, r in done if r is not None]
    if failed:
        detail = "; ".join(f"kernel {e.ctx.kernel_id}: {e.error}" for e in failed)
        kept = f"; created and still running: {', '.join(r.id for r in created)}" if created else ""
        raise KernelCreationFailed(f"{len(failed)} of {len(done)} kernels failed to be created ({detail}){kept}")
    return created
