"""Bridge networks of single-node multi-kernel sessions."""

from __future__ import annotations

import docker
from docker.errors import APIError, NotFound

from contract.errors import NetworkError

CLUSTER_NETWORK_LABEL = "ai.backend.cluster-network"


def create_local(client: docker.DockerClient, name: str, extra_labels: dict[str, str] | None = None) -> None:
    """Create bridge network `name`; an existing network of that name is an error and stays as it is."""
    if any(n.name == name for n in client.networks.list(names=[name])):
        raise NetworkError(f"network {name!r} already exists")
    try:
        client.networks.create(
            name, driver="bridge", check_duplicate=True,
            labels={CLUSTER_NETWORK_LABEL: "1", **(extra_labels or {})},
        )
    except APIError as e:
        raise NetworkError(f"cannot create network {name!r}: {e.explanation or e}") from None


def destroy_local(client: docker.DockerClient, name: str) -> None:
    """Remove network `name`; a missing network or one still in use is an error."""
    try:
        network = client.networks.get(name)
    except NotFound:
        raise NetworkError(f"network {name!r} does not exist") from None
    if network.name != name:  # networks.get also matches id prefixes
        raise NetworkError(f"network {name!r} does not exist")
    try:
        network.remove()
    except APIError as e:
        raise NetworkError(f"cannot remove network {name!r}: {e.explanation or e}") from None
