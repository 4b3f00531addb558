"""Tasks for session bridge networks."""

from __future__ import annotations

from contract import operations as ops
from contract.networks import NetworkReq
from tasks.agent_task import agent_task
from worker import networks
from worker.runtime import host


@agent_task(ops.CREATE_LOCAL_NETWORK)
def create_local_network(req: NetworkReq) -> None:
    """Create the bridge network of a single-node multi-kernel session."""
    networks.create_local(host().docker, req.network_name)


@agent_task(ops.DESTROY_LOCAL_NETWORK)
def destroy_local_network(req: NetworkReq) -> None:
    """Remove a session's bridge network (refused while a container uses it)."""
    networks.destroy_local(host().docker, req.network_name)
