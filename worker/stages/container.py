"""ContainerCreation: create and start the kernel's container from everything the stages prepared."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, NotFound
from docker.types import DeviceRequest, LogConfig, Mount
from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import ServicePort
from worker.config import AgentSettings
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.cmdarg import CmdArgStage
from worker.stages.environ import EnvironStage
from worker.stages.image import ImagePullStage
from worker.stages.mounts import MountSpec, all_mounts
from worker.stages.network import NetworkStage
from worker.stages.ports import ServicePortsStage
from worker.stages.resource import ResourceStage

KERNEL_ID_LABEL = "ai.backend.kernel-id"
SESSION_ID_LABEL = "ai.backend.session-id"
OWNER_LABEL = "ai.backend.owner"


def container_name(kernel_id: str) -> str:
    return f"kernel.{kernel_id}"


@dataclass(frozen=True)
class ContainerSpec:
    kernel_id: str
    session_id: str
    agent_id: str
    image_id: str
    command: list[str]
    environ: dict[str, str]
    mounts: list[MountSpec]
    uid: int
    gid: int
    supplementary_gids: list[int]
    hostname: str
    cores: list[int]
    cpu: float  # cores' worth of CPU time (the CFS quota) over `cores`
    gpus: list[str]  # UUIDs of the NVIDIA GPUs the kernel gets (through the NVIDIA container runtime)
    mem: int
    service_ports: list[ServicePort]
    bind_host: str
    network: str | None
    alias: str | None
    log_max_size: str = "10m"
    log_max_files: int = 3
    extra_labels: dict[str, str] = field(default_factory=dict)
    pids_limit: int = 4096


class ContainerInfo(BaseModel):
    container_id: str | None = None
    kernel_id: str = ""


class ContainerCreationStage(Stage[ContainerSpec, ContainerInfo]):
    name = "container_creation"
    resource_type = ContainerInfo
    step = "start"
    requires = ("kernel_object", "image", "command", "environ", "mounts", "allocation", "service_ports", "network")
    provides = ("container",)

    def __init__(self, client: docker.DockerClient, settings: AgentSettings) -> None:
        self._docker = client
        self._settings = settings

    def spec(self, ctx: KernelContext) -> ContainerSpec:
        c = ctx.kernel_config
        alloc = ctx.output(ResourceStage)
        net = ctx.output(NetworkStage)
        return ContainerSpec(
            kernel_id=ctx.kernel_id, session_id=ctx.session_id, agent_id=ctx.agent_id,
            image_id=ctx.output(ImagePullStage).id, command=ctx.output(CmdArgStage).command,
            environ=ctx.output(EnvironStage).environ, mounts=all_mounts(ctx), uid=ctx.uid, gid=ctx.gid,
            supplementary_gids=ctx.supplementary_gids, hostname=c.cluster_hostname, cores=alloc.cores,
            cpu=alloc.cpu_amount, gpus=alloc.cuda_devices, mem=alloc.mem,
            service_ports=ctx.output(ServicePortsStage).ports, bind_host=self._settings.bind_host,
            network=net.network, alias=net.alias, log_max_size=self._settings.container_log_max_size,
            log_max_files=self._settings.container_log_max_files)

    def find(self, kernel_id: str) -> str | None:
        """The id of a container already made for this kernel (a redelivered step, a crash)."""
        found = self._docker.api.containers(all=True, filters={"label": f"{KERNEL_ID_LABEL}={kernel_id}"})
        return found[0]["Id"] if found else None

    def setup(self, spec: ContainerSpec) -> ContainerInfo:
        api = self._docker.api
        cid = self.find(spec.kernel_id)
        if cid is None:
            cid = self._create(spec)
        try:
            api.start(cid)
        except APIError as e:
            self.teardown(ContainerInfo(container_id=cid))
            raise KernelCreationFailed(f"container of kernel {spec.kernel_id} did not start: "
                                       f"{e.explanation or e}") from None
        return ContainerInfo(container_id=cid, kernel_id=spec.kernel_id)

    def _create(self, spec: ContainerSpec) -> str:
        api = self._docker.api
        ports = {sp.container_ports[0]: (spec.bind_host, sp.host_ports[0]) for sp in spec.service_ports}
        host_config = api.create_host_config(
            mounts=[Mount(target=m.target, source=m.source, type=m.type, read_only=m.read_only)
                    for m in spec.mounts],
            port_bindings=ports,
            cpuset_cpus=",".join(map(str, spec.cores)),
            nano_cpus=round(spec.cpu * 1_000_000_000),
            mem_limit=spec.mem,
            memswap_limit=spec.mem,
            pids_limit=spec.pids_limit,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            privileged=False,
            init=True,
            group_add=[str(g) for g in spec.supplementary_gids] or None,
            network_mode=spec.network or "bridge",
            device_requests=[DeviceRequest(driver="nvidia", device_ids=spec.gpus, capabilities=[["gpu"]])]
            if spec.gpus else None,
            # what a kernel prints is bounded on the host's disk too: Docker rotates its log
            log_config=LogConfig(type=LogConfig.types.JSON, config={
                "max-size": spec.log_max_size, "max-file": str(spec.log_max_files)}),
        )
        networking = None
        if spec.network:
            networking = api.create_networking_config({
                spec.network: api.create_endpoint_config(aliases=[spec.alias] if spec.alias else None)})
        labels = {KERNEL_ID_LABEL: spec.kernel_id, SESSION_ID_LABEL: spec.session_id,
                  OWNER_LABEL: spec.agent_id, **spec.extra_labels}
        try:
            created = api.create_container(
                image=spec.image_id, command=spec.command, name=container_name(spec.kernel_id),
                hostname=spec.hostname, user=f"{spec.uid}:{spec.gid}", environment=spec.environ,
                labels=labels, working_dir="/home/work", ports=list(ports), host_config=host_config,
                networking_config=networking, stop_signal="SIGTERM",
            )
        except APIError as e:
            raise KernelCreationFailed(f"container of kernel {spec.kernel_id} could not be created: "
                                       f"{e.explanation or e}") from None
        return str(created["Id"])

    def teardown(self, resource: ContainerInfo) -> None:
        if resource.container_id is None:
            return
        with contextlib.suppress(NotFound):
            self._docker.api.remove_container(resource.container_id, force=True, v=True)

    def leftover(self, ctx: KernelContext) -> ContainerInfo | None:
        found = self.find(ctx.kernel_id)  # made, but the crash came before it was recorded
        return ContainerInfo(container_id=found, kernel_id=ctx.kernel_id) if found else None
