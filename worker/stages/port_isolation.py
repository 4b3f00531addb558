"""PortIsolation: a kernel on Docker's default bridge gets its bridge port isolated, so it and every
other isolated kernel cannot exchange a single frame; the host (the bridge itself, published ports,
masquerading out) is unaffected. Kernels on a session network are left alone: they must reach each
other, and Docker keeps different bridges apart.

Linux bridges forward nothing between two ports flagged `isolated` (kernel 4.18+). The kernel's
port is the host end of its veth: the ifindex its eth0 names as `iflink`, read through the
container's own /sys (/proc/<pid>/root). It runs beside the runner's handshake, so it costs the
creation nothing, and it is done before the kernel is RUNNING: before any user code runs there.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import docker
from pydantic import BaseModel

from contract.errors import KernelStartFailed
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.container import ContainerCreationStage
from worker.stages.network import NetworkStage

SYS_NET = Path("/sys/class/net")


@dataclass(frozen=True)
class PortIsolationSpec:
    container_id: str
    default_bridge: bool  # no session network: the kernel is on Docker's default bridge


class IsolatedPort(BaseModel):
    port: str | None = None  # the host end of the kernel's veth, flagged isolated on its bridge


def host_port_of(pid: int) -> str:
    """The host-side interface of the veth whose other end is eth0 in process `pid`'s netns."""
    ifindex = int(Path(f"/proc/{pid}/root/sys/class/net/eth0/iflink").read_text())
    return socket.if_indextoname(ifindex)


def isolate(port: str) -> None:
    """Flag bridge port `port` isolated and check that it took."""
    flag = SYS_NET / port / "brport" / "isolated"
    flag.write_text("1")
    if flag.read_text().strip() != "1":
        raise OSError(f"{flag} did not keep the value 1")


class PortIsolationStage(Stage[PortIsolationSpec, IsolatedPort]):
    name = "port_isolation"
    resource_type = IsolatedPort
    step = "start"
    requires = ("container", "network")
    provides = ("port_isolation",)

    def __init__(self, client: docker.DockerClient) -> None:
        self._docker = client

    def spec(self, ctx: KernelContext) -> PortIsolationSpec:
        return PortIsolationSpec(ctx.output(ContainerCreationStage).container_id or "",
                                 ctx.output(NetworkStage).network is None)

    def setup(self, spec: PortIsolationSpec) -> IsolatedPort:
        if not spec.default_bridge:
            return IsolatedPort()
        state = self._docker.api.inspect_container(spec.container_id)["State"]
        if not state["Running"]:
            return IsolatedPort()  # no network without a process; the handshake stage says why it died
        try:
            port = host_port_of(int(state["Pid"]))
            isolate(port)
        except (OSError, ValueError) as e:
            if not self._docker.api.inspect_container(spec.container_id)["State"]["Running"]:
                return IsolatedPort()  # it died meanwhile: the handshake stage says why
            raise KernelStartFailed(f"the kernel's bridge port could not be isolated ({e}): the agent needs "
                                    "the host's pid and network namespaces and a kernel with bridge port "
                                    "isolation (4.18+)") from None
        return IsolatedPort(port=port)
