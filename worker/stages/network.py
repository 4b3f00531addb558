"""Network: the session's bridge network (made by the manager with create_local_network)."""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker.errors import NotFound
from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage


@dataclass(frozen=True)
class NetworkSpec:
    network_name: str | None
    alias: str


class NetworkChoice(BaseModel):
    network: str | None = None
    alias: str | None = None


class NetworkStage(Stage[NetworkSpec, NetworkChoice]):
    name = "network"
    resource_type = NetworkChoice
    provides = ("network",)

    def __init__(self, client: docker.DockerClient) -> None:
        self._docker = client

    def spec(self, ctx: KernelContext) -> NetworkSpec:
        name = ctx.kernel_config.network_id or ctx.cluster_info.network_config.get("network_name")
        return NetworkSpec(name, ctx.kernel_config.cluster_hostname)

    def setup(self, spec: NetworkSpec) -> NetworkChoice:
        if spec.network_name is None:
            return NetworkChoice()
        try:
            self._docker.networks.get(spec.network_name)
        except NotFound:
            raise KernelCreationFailed(f"session network {spec.network_name!r} does not exist") from None
        return NetworkChoice(network=spec.network_name, alias=spec.alias)
