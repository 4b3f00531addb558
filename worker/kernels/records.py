"""A kernel's registry record and creation result, made from its creation context; and the step
both creation and restart end with: the kernel is RUNNING and kernel_started says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from contract.events import KernelStarted
from contract.kernels import KernelCreationResult
from worker.config import AgentSettings
from worker.inference.service import served_models
from worker.pipeline.context import KernelContext
from worker.resources.accelerators import Device
from worker.runner_client import RunnerClient
from worker.stages.container import ContainerCreationStage
from worker.stages.ports import ServicePortsStage
from worker.stages.resource import ResourceStage
from worker.stages.verification import ContainerVerificationStage
from worker.state.kernels import KernelRecord, KernelRegistry, KernelState

if TYPE_CHECKING:
    from worker.host import Host


def record_of(ctx: KernelContext, state: KernelState = KernelState.PREPARING) -> KernelRecord:
    """The registry record for a kernel in creation (its context saved with it)."""
    container = ctx.find_output(ContainerCreationStage)
    ports = ctx.find_output(ServicePortsStage)
    runner = ctx.find_output(ContainerVerificationStage)
    return KernelRecord(
        kernel_id=ctx.kernel_id, session_id=ctx.session_id, state=state, scratch_dir=ctx.scratch_dir,
        ipc_dir=ctx.ipc_dir, uid=ctx.uid, gid=ctx.gid, image=ctx.kernel_config.image.canonical,
        container_id=container.container_id if container else None, runner_pid=runner.pid if runner else None,
        cluster_hostname=ctx.kernel_config.cluster_hostname,
        service_ports=[p.model_dump() for p in ports.ports] if ports else [], config=ctx.model_dump(mode="json"),
    )


def save_record(registry: KernelRegistry) -> Callable[[KernelContext], None]:
    """Save a kernel's context in its record (KernelGone if a destroy removed the record meanwhile)."""

    def save(ctx: KernelContext) -> None:
        registry.update(record_of(ctx))

    return save


def creation_result(settings: AgentSettings, devices: list[Device], ctx: KernelContext) -> KernelCreationResult:
    known = {d.device_id: d for d in devices}
    alloc = ctx.output(ResourceStage)
    attached = {kind: [{"device_id": d, "model_name": known[d].model_name, "data": {"mem": known[d].memory}}
                       for d in ids if d in known]
                for kind, ids in (("cuda", alloc.cuda_devices), ("mock", alloc.mock_devices)) if ids}
    return KernelCreationResult(
        id=ctx.kernel_id, kernel_host=settings.bind_host,
        container_id=ctx.output(ContainerCreationStage).container_id or "",
        service_ports=ctx.output(ServicePortsStage).ports, resource_spec=alloc.resource_spec(),
        attached_devices=attached, agent_addr=settings.queue,
        scaling_group=settings.scaling_group, stage_timings=dict(ctx.timings),
    )


def mark_running(h: Host, ctx: KernelContext) -> KernelCreationResult:
    """The kernel is RUNNING with its creation info saved, and kernel_started says so."""
    result = creation_result(h.settings, h.devices, ctx)
    h.secrets.remove(ctx.kernel_id)  # the creation is over: nothing needs them any more
    rec = record_of(ctx, KernelState.RUNNING)
    rec.creation_info = result.model_dump(mode="json")
    h.registry.update(rec)
    h.events.produce(KernelStarted(kernel_id=ctx.kernel_id, session_id=ctx.session_id,
                                   creation_info=rec.creation_info))
    watch_models(h, rec)
    return result


def watch_models(h: Host, rec: KernelRecord) -> None:
    """Have the host's monitor watch the model services of a running inference kernel (if it is one)."""
    ctx = KernelContext.model_validate(rec.config)
    models = served_models(ctx.kernel_config, ctx.internal_data)
    if models:
        h.models.watch(rec.kernel_id, rec.session_id, models,
                       RunnerClient(rec.runner_socket, h.runners, rec.runner_pid))
