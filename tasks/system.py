"""Tasks about the agent itself: ping, gather_hwinfo, update_scaling_group."""

from __future__ import annotations

from contract import operations as ops
from contract.common import Empty
from contract.config_file import config_path
from contract.system import HardwareMetadata, PingReq, UpdateScalingGroupReq
from tasks.agent_task import agent_task
from worker import hwinfo
from worker.runtime import host
from worker.scaling_group import write_scaling_group


@agent_task(ops.PING)
def ping(req: PingReq) -> str:
    """Echo `msg`: the cheapest round trip through broker, worker and result backend."""
    return req.msg


@agent_task(ops.GATHER_HWINFO)
def gather_hwinfo(req: Empty) -> dict[str, HardwareMetadata]:
    """Hardware metadata per device kind (cpu, mem, cuda where a driver exists, mock if configured)."""
    return hwinfo.gather(host().settings)


@agent_task(ops.UPDATE_SCALING_GROUP)
def update_scaling_group(req: UpdateScalingGroupReq) -> None:
    """Move this host to another scaling group: agent.toml (with a .bak) and the running settings."""
    write_scaling_group(config_path(), req.scaling_group)
    host().settings.scaling_group = req.scaling_group
