"""Docker networks of this agent: the session networks managers ask for (create_local_network), and
the one kernel network, with inter-container traffic off, of every kernel without a session network.

A session network carries this agent's id, so kernels are only ever attached to networks this agent
made (worker/kernels/admission.py); the kernel network is never a session network, and neither can
be named by a manager to be made or removed in its place.
"""

from __future__ import annotations

import threading
from typing import Any

import docker
from docker.errors import APIError, NotFound

from contract.errors import NetworkError

CLUSTER_NETWORK_LABEL = "ai.backend.cluster-network"
KERNEL_NETWORK_LABEL = "ai.backend.kernel-network"
OWNER_LABEL = "ai.backend.owner"  # the label this agent's containers carry too
ICC_OPTION = "com.docker.network.bridge.enable_icc"

_creating = threading.Lock()


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


def create_local(client: docker.DockerClient, name: str, agent_id: str, kernel_network: str) -> None:
    """Create session network `name` labelled with this agent's id; an existing network of that name
    (or the kernel network's name) is an error and stays as it is."""
    if name == kernel_network:
        raise NetworkError(f"network {name!r} is this agent's kernel network, not a session network")
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


def _is_kernel_network(attrs: dict[str, Any]) -> bool:
    return (attrs.get("Labels") or {}).get(KERNEL_NETWORK_LABEL) == "1" and \
        (attrs.get("Options") or {}).get(ICC_OPTION) == "false"


def ensure_kernel_network(client: docker.DockerClient, name: str, agent_id: str) -> str:
    """The kernel network `name`, made when missing (idempotent: one inspect when it exists).

    A bridge with inter-container traffic off: its kernels reach the outside and are reached on
    their published ports, never each other. Several agents on one host may share it.
    """
    attrs = _inspect(client, name)
    if attrs is None:
        with _creating:
            attrs = _inspect(client, name)
            if attrs is None:
                try:
                    client.api.create_network(
                        name, driver="bridge", check_duplicate=True, options={ICC_OPTION: "false"},
                        labels={KERNEL_NETWORK_LABEL: "1", OWNER_LABEL: agent_id})
                except APIError as e:
                    if e.status_code != 409:  # 409: another agent made it meanwhile
                        raise NetworkError(f"cannot create the kernel network {name!r}: {e.explanation or e}") \
                            from None
                attrs = _inspect(client, name) or {}
    if not _is_kernel_network(attrs):
        raise NetworkError(f"network {name!r} exists but is not a kernel network (label {KERNEL_NETWORK_LABEL}, "
                           f"{ICC_OPTION}=false): remove it or set kernel_network to another name")
    return name
