"""The session networks managers ask for (create_local_network): bridges labelled with this agent's
id, so kernels are only ever attached to networks this agent made (worker/kernels/admission.py) and
destroy_local_network removes nothing else. Kernels without one sit on Docker's default bridge with
their port isolated (worker/stages/port_isolation.py)."""

from __future__ import annotations

from typing import Any

import docker
from docker.errors import APIError, NotFound

from contract.errors import NetworkError

CLUSTER_NETWORK_LABEL = "ai.backend.cluster-network"
OWNER_LABEL = "ai.backend.owner"  # the label this agent's containers carry too


def _inspect(client: docker.DockerClient, name: str) -> dict[str, Any] | None:
    """The network named exactly `name` (Docker also matches ids and id prefixes), or None."""
    try:
        found = dict(client.api.inspect_network(name))
    except NotFound:
        return None
    return found if found.get("Name") == name else None


def is_session_network(attrs: dict[str, Any], agent_id: str) -> bool:
    """Made by this agent's create_local_network."""
    labels = attrs.get("Labels") or {}
    return labels.get(CLUSTER_NETWORK_LABEL) == "1" and labels.get(OWNER_LABEL) == agent_id


def session_network(client: docker.DockerClient, name: str, agent_id: str) -> dict[str, Any]:
    """The session network `name`; NetworkError when it is missing or this agent did not make it."""
    attrs = _inspect(client, name)
    if attrs is None:
        raise NetworkError(f"network {name!r} does not exist")
    if not is_session_network(attrs, agent_id):
        raise NetworkError(f"network {name!r} was not made by this agent's create_local_network")
    return attrs


def create_local(client: docker.DockerClient, name: str, agent_id: str) -> None:
    """Create session network `name` labelled with this agent's id; an existing network of that name
    is an error and stays as it is."""
    if _inspect(client, name) is not None:
        raise NetworkError(f"network {name!r} already exists")
    try:
        client.networks.create(name, driver="bridge", check_duplicate=True,
                               labels={CLUSTER_NETWORK_LABEL: "1", OWNER_LABEL: agent_id})
    except APIError as e:
        raise NetworkError(f"cannot create network {name!r}: {e.explanation or e}") from None


def destroy_local(client: docker.DockerClient, name: str, agent_id: str) -> None:
    """Remove session network `name`; a missing network, one this agent did not make or one still in
    use is an error."""
    attrs = session_network(client, name, agent_id)
    try:
        client.api.remove_network(attrs["Id"])
    except APIError as e:
        raise NetworkError(f"cannot remove network {name!r}: {e.explanation or e}") from None
