"""The built-in stages, in the spec's order, made from this host's settings and services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from worker.config import AgentSettings
from worker.images.pull import Puller
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.resources.allocator import Allocator, PortPool
from worker.runner_client import RunnerConnections
from worker.stages.cmdarg import CmdArgStage
from worker.stages.config_files import BootstrapStage, ConfigFileStage, CredentialsStage, DotfilesStage
from worker.stages.container import ContainerCreationStage
from worker.stages.environ import EnvironStage
from worker.stages.image import ImagePullStage, PullDecided
from worker.stages.kernel_object import KernelObjectStage
from worker.stages.model_service import ModelServiceStage
from worker.stages.mounts import AcceleratorMountStage, IntrinsicMountStage, KernelRunnerMountStage, VFolderMountStage
from worker.stages.network import NetworkStage
from worker.stages.ports import ServicePortsStage
from worker.stages.resource import ResourceStage
from worker.stages.scratch import ScratchStage
from worker.stages.ssh import ClusterSSHStage, ContainerSSHStage
from worker.stages.verification import ContainerVerificationStage


def builtin_stages(settings: AgentSettings, client: docker.DockerClient, allocator: Allocator, ports: PortPool,
                   puller: Puller, runners: RunnerConnections, runner_dir: Path,
                   save_record: Callable[[KernelContext], None], on_pull_decided: PullDecided,
                   secrets: KernelSecrets) -> list[Stage[Any, Any]]:
    return [
        ImagePullStage(client, puller, on_pull_decided, secrets),
        ResourceStage(allocator, settings.fractional_cpu),
        EnvironStage(),
        IntrinsicMountStage(),
        ScratchStage(),
        NetworkStage(client),
        ClusterSSHStage(secrets),
        VFolderMountStage(),
        AcceleratorMountStage({d.device_id: d.path for d in settings.mock_devices}),
        KernelRunnerMountStage(runner_dir),
        ServicePortsStage(ports),
        BootstrapStage(),
        ConfigFileStage(),
        CredentialsStage(secrets),
        ContainerSSHStage(secrets),
        DotfilesStage(),
        CmdArgStage(),
        KernelObjectStage(save_record),
        ContainerCreationStage(client, settings),
        ContainerVerificationStage(client, settings, runners),
        ModelServiceStage(runners),
    ]
