"""The stage pipeline of kernel creation, in the spec's order, wired to this host's services.

`Pipeline.pull` runs alongside `Pipeline.prepare` (an image pull need not wait for scratch
preparation); `Pipeline.start` makes and checks the container. `all` is the teardown order's reverse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import docker

from contract.kernels import DotfileSpec, SSHKeypair
from worker.config import AgentSettings
from worker.images.pull import Puller
from worker.resources.allocator import Allocator, PortPool
from worker.resources.slots import parse_slots
from worker.runner_files import install_runner
from worker.stages.base import Stage
from worker.stages.cmdarg import CmdArgProvisioner, CmdArgSpec
from worker.stages.config_files import (
    BootstrapProvisioner,
    BootstrapSpec,
    ConfigFileProvisioner,
    ConfigFileSpec,
    CredentialsProvisioner,
    CredentialsSpec,
    DotfilesProvisioner,
    DotfilesSpec,
)
from worker.stages.container import (
    ContainerCreationProvisioner,
    ContainerSpec,
    ContainerVerificationProvisioner,
    VerificationSpec,
)
from worker.stages.context import KernelContext
from worker.stages.environ import EnvironProvisioner, EnvironSpec
from worker.stages.image import ImageInfo, ImagePullProvisioner, ImageSpec
from worker.stages.kernel_object import KernelObjectProvisioner, KernelObjectSpec
from worker.stages.mounts import (
    AcceleratorMountProvisioner,
    AcceleratorMountSpec,
    IntrinsicMountProvisioner,
    IntrinsicMountSpec,
    KernelRunnerMountProvisioner,
    KernelRunnerMountSpec,
    Mounts,
    VFolderMountProvisioner,
    VFolderMountSpec,
)
from worker.stages.network import NetworkChoice, NetworkProvisioner, NetworkSpec
from worker.stages.ports import SERVICE_PORTS_LABEL, ServicePorts, ServicePortsProvisioner, ServicePortsSpec
from worker.stages.resource import AllocatedResources, ResourceProvisioner, ResourceSpec
from worker.stages.scratch import ScratchProvisioner, ScratchSpec
from worker.stages.ssh import ClusterSSHProvisioner, ClusterSSHSpec, ContainerSSHProvisioner, ContainerSSHSpec
from worker.state.kernels import KernelRecord, KernelRegistry

AnyStage = Stage[Any, Any]


def record_of(ctx: KernelContext) -> KernelRecord:
    """The registry record for a kernel in creation (its context saved with it)."""
    return KernelRecord(
        kernel_id=ctx.kernel_id, session_id=ctx.session_id, scratch_dir=ctx.scratch_dir, ipc_dir=ctx.ipc_dir,
        uid=ctx.uid, gid=ctx.gid, image=ctx.kernel_config.image.canonical, container_id=ctx.container_id,
        cluster_hostname=ctx.kernel_config.cluster_hostname,
        service_ports=[p.model_dump() for p in ctx.service_ports], config=ctx.model_dump(mode="json"),
    )


def _mounts(ctx: KernelContext, res: Mounts) -> None:
    ctx.mounts.extend(m for m in res.mounts if m not in ctx.mounts)


def _resource_lines(ctx: KernelContext) -> dict[str, str]:
    alloc = AllocatedResources.model_validate(ctx.resources["resource"])
    lines = {
        "SLOTS": json.dumps(alloc.resource_spec()["slots"], sort_keys=True),
        "CPU_SHARES": ",".join(f"{c}:1" for c in alloc.cores),
        "MEM_SHARES": f"root:{alloc.mem}",
        "MOUNTS": ",".join(f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in ctx.mounts),
    }
    if alloc.mock_devices:
        lines["MOCK.DEVICE_SHARES"] = ",".join(f"{d}:1" for d in alloc.mock_devices)
    return lines


@dataclass
class Pipeline:
    pull: AnyStage
    prepare: list[AnyStage]
    start: list[AnyStage]
    containers: ContainerCreationProvisioner  # also finds a container made but never recorded

    @property
    def all(self) -> list[AnyStage]:
        return [self.pull, *self.prepare, *self.start]


def build_pipeline(settings: AgentSettings, client: docker.DockerClient, registry: KernelRegistry,
                   allocator: Allocator, ports: PortPool, puller: Puller) -> Pipeline:
    """Every stage of the spec's order with its spec built from the context and this host's settings."""
    mock_files = {d.device_id: d.path for d in settings.mock_devices}
    runner_dir = install_runner(settings.var_dir)

    def set_image(ctx: KernelContext, res: ImageInfo) -> None:
        ctx.image_id, ctx.image_labels = res.id, res.labels

    def set_alloc(ctx: KernelContext, res: AllocatedResources) -> None:
        ctx.resource_spec = res.resource_spec()

    def environ_spec(ctx: KernelContext) -> EnvironSpec:
        c = ctx.kernel_config
        alloc = AllocatedResources.model_validate(ctx.resources["resource"])
        return EnvironSpec(
            user_environ=c.environ, kernel_id=ctx.kernel_id, session_id=ctx.session_id, uid=ctx.uid, gid=ctx.gid,
            supplementary_gids=ctx.supplementary_gids, cluster_role=c.cluster_role, cluster_idx=c.cluster_idx,
            cluster_hostname=c.cluster_hostname, cluster_size=ctx.cluster_info.size, cores=len(alloc.cores),
            mock_devices=alloc.mock_devices, persistent_paths=[m.kernel_path for m in c.mounts])

    def network_name(ctx: KernelContext) -> str | None:
        return ctx.kernel_config.network_id or ctx.cluster_info.network_config.get("network_name")

    def keypair(ctx: KernelContext) -> SSHKeypair | None:
        raw = ctx.internal_data.get("ssh_keypair")
        return SSHKeypair.model_validate(raw) if raw else None

    prepare: list[AnyStage] = [
        Stage(ResourceProvisioner(allocator),
              lambda ctx: ResourceSpec(ctx.kernel_id, parse_slots(ctx.kernel_config.resource_slots)), set_alloc),
        Stage(EnvironProvisioner(), environ_spec, lambda ctx, res: setattr(ctx, "environ", res.environ)),
        Stage(IntrinsicMountProvisioner(), lambda ctx: IntrinsicMountSpec(ctx.scratch_dir), _mounts),
        Stage(ScratchProvisioner(), lambda ctx: ScratchSpec(ctx.scratch_dir, ctx.uid, ctx.gid)),
        Stage(NetworkProvisioner(client),
              lambda ctx: NetworkSpec(network_name(ctx), ctx.kernel_config.cluster_hostname),
              lambda ctx, res: setattr(ctx, "network", res.network)),
        Stage(ClusterSSHProvisioner(), lambda ctx: ClusterSSHSpec(
            ctx.config_dir, ctx.cluster_info.ssh_keypair, ctx.cluster_info.cluster_ssh_port_mapping, ctx.uid,
            ctx.gid)),
        Stage(VFolderMountProvisioner(), lambda ctx: VFolderMountSpec(ctx.kernel_config.mounts), _mounts),
        Stage(AcceleratorMountProvisioner(), lambda ctx: AcceleratorMountSpec({
            d: mock_files[d] for d in AllocatedResources.model_validate(ctx.resources["resource"]).mock_devices}),
            _mounts),
        Stage(KernelRunnerMountProvisioner(),
              lambda ctx: KernelRunnerMountSpec(runner_dir, ctx.ipc_dir, ctx.uid, ctx.gid), _mounts),
        Stage(ServicePortsProvisioner(ports), lambda ctx: ServicePortsSpec(
            ctx.kernel_id, ctx.image_labels.get(SERVICE_PORTS_LABEL, ""), ctx.kernel_config.preopen_ports,
            ctx.kernel_config.cluster_role in ("main", "master")),
            lambda ctx, res: setattr(ctx, "service_ports", ServicePorts.model_validate(res).ports)),
        Stage(BootstrapProvisioner(), lambda ctx: BootstrapSpec(
            ctx.work_dir, ctx.kernel_config.bootstrap_script, ctx.uid, ctx.gid)),
        Stage(ConfigFileProvisioner(), lambda ctx: ConfigFileSpec(ctx.config_dir, ctx.environ, _resource_lines(ctx))),
        Stage(CredentialsProvisioner(),
              lambda ctx: CredentialsSpec(ctx.config_dir, ctx.internal_data.get("docker_credentials"))),
        Stage(ContainerSSHProvisioner(), lambda ctx: ContainerSSHSpec(ctx.work_dir, keypair(ctx), ctx.uid, ctx.gid)),
        Stage(DotfilesProvisioner(), lambda ctx: DotfilesSpec(
            ctx.work_dir, [DotfileSpec.model_validate(d) for d in ctx.internal_data.get("dotfiles", [])],
            ctx.uid, ctx.gid)),
        Stage(CmdArgProvisioner(), lambda ctx: CmdArgSpec(ctx.image_labels),
              lambda ctx, res: setattr(ctx, "command", res.command)),
        Stage(KernelObjectProvisioner(registry.update), lambda ctx: KernelObjectSpec(record_of(ctx))),
    ]

    def container_spec(ctx: KernelContext) -> ContainerSpec:
        c = ctx.kernel_config
        alloc = AllocatedResources.model_validate(ctx.resources["resource"])
        net = NetworkChoice.model_validate(ctx.resources.get("network", {}))
        assert ctx.image_id is not None
        return ContainerSpec(
            kernel_id=ctx.kernel_id, session_id=ctx.session_id, agent_id=ctx.agent_id, image_id=ctx.image_id,
            command=ctx.command, environ=ctx.environ, mounts=ctx.mounts, uid=ctx.uid, gid=ctx.gid,
            supplementary_gids=ctx.supplementary_gids, hostname=c.cluster_hostname, cores=alloc.cores,
            mem=alloc.mem, service_ports=ctx.service_ports, bind_host=settings.bind_host, network=net.network,
            alias=net.alias)

    def set_container(ctx: KernelContext, res: Any) -> None:
        ctx.container_id = res.container_id

    containers = ContainerCreationProvisioner(client)
    start: list[AnyStage] = [
        Stage(containers, container_spec, set_container),
        Stage(ContainerVerificationProvisioner(client), lambda ctx: VerificationSpec(
            ctx.container_id or "", ctx.ipc_dir / "runner.sock", settings.runner_handshake_timeout)),
    ]
    pull = Stage(ImagePullProvisioner(client, puller), lambda ctx: ImageSpec(ctx.kernel_config.image), set_image)
    return Pipeline(pull=pull, prepare=prepare, start=start, containers=containers)
