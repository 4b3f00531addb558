"""Network: the session's network (made by this agent's create_local_network, and bound to the
session while its kernels use it), or else Docker's default bridge, where the kernel's port is
isolated once its container runs (worker/stages/port_isolation.py)."""

from __future__ import annotations

from dataclasses import dataclass

import docker
from pydantic import BaseModel

from contract.errors import KernelCreationFailed, NetworkError
from worker import networks
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.state.network_bindings import NetworkBindings


@dataclass(frozen=True)
class NetworkSpec:
    network_name: str | None  # the session network, None for the default bridge
    alias: str
    kernel_id: str
    session_id: str


class NetworkChoice(BaseModel):
    network: str | None = None
    alias: str | None = None
    bound_kernel: str | None = None  # the kernel bound to the session network (released in teardown)


def session_network_name(ctx: KernelContext) -> object:
    """The session network a creation asks for (network_id first), None when it asks for none."""
    return ctx.kernel_config.network_id or ctx.cluster_info.network_config.get("network_name")


class NetworkStage(Stage[NetworkSpec, NetworkChoice]):
    name = "network"
    resource_type = NetworkChoice
    provides = ("network",)

    def __init__(self, client: docker.DockerClient, agent_id: str, bindings: NetworkBindings) -> None:
        self._docker = client
        self._agent_id = agent_id
        self._bindings = bindings

    def spec(self, ctx: KernelContext) -> NetworkSpec:
        name = session_network_name(ctx)
        return NetworkSpec(None if name is None else str(name), ctx.kernel_config.cluster_hostname,
                           ctx.kernel_id, ctx.session_id)

    def setup(self, spec: NetworkSpec) -> NetworkChoice:
        if spec.network_name is None:
            return NetworkChoice()
        try:
            networks.session_network(self._docker, spec.network_name, self._agent_id)
            self._bindings.bind(spec.network_name, spec.session_id, spec.kernel_id)
        except NetworkError as e:
            raise KernelCreationFailed(str(e)) from None
        return NetworkChoice(network=spec.network_name, alias=spec.alias, bound_kernel=spec.kernel_id)

    def teardown(self, resource: NetworkChoice) -> None:
        if resource.bound_kernel is not None:
            self._bindings.release(resource.bound_kernel)

    def leftover(self, ctx: KernelContext) -> NetworkChoice:
        return NetworkChoice(bound_kernel=ctx.kernel_id)
