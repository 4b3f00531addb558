"""Spec scenarios of create_local_network and destroy_local_network against real Docker: session
networks carry the agent's id, and the agent removes only those it made."""

from __future__ import annotations

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.docker_cleanup import TEST_LABEL
from worker.config import AgentSettings


def network_names(d: docker.DockerClient) -> set[str]:
    return {n.name for n in d.networks.list()}


def test_create_local_network_makes_a_bridge_labelled_with_the_agent_id(
        client: AgentClient, docker_client: docker.DockerClient, settings: AgentSettings, unique: str) -> None:
    name = f"test-new-network-{unique}"
    assert name not in network_names(docker_client)
    try:
        assert client.call("create_local_network", network_name=name) is None
        net = docker_client.networks.get(name)
        assert net.attrs["Driver"] == "bridge"
        assert net.attrs["Labels"]["ai.backend.cluster-network"] == "1"
        assert net.attrs["Labels"]["ai.backend.owner"] == settings.id
    finally:
        docker_client.networks.get(name).remove()



def test_create_local_network_refuses_an_existing_name_and_leaves_it_unchanged(
        client: AgentClient, docker_client: docker.DockerClient, unique: str) -> None:
    name = f"existing-network-{unique}"
    existing = docker_client.networks.create(name, driver="bridge", labels={TEST_LABEL: "1", "mine": "yes"})
    try:
        with pytest.raises(RuntimeError, match="already exists"):
            client.create_local_network(name)
        same = docker_client.networks.list(names=[name])
        assert [n.id for n in same if n.name == name] == [existing.id]
        assert docker_client.networks.get(name).attrs["Labels"] == {TEST_LABEL: "1", "mine": "yes"}
    finally:
        existing.remove()


@pytest.mark.parametrize("bad", ["invalid@name#for_net", "", "-leading-dash", 42, None])
def test_create_local_network_rejects_bad_names_and_creates_nothing(
        client: AgentClient, docker_client: docker.DockerClient, bad: object) -> None:
    before = network_names(docker_client)
    with pytest.raises(ValueError, match="network_name"):
        client.call("create_local_network", network_name=bad)
    assert network_names(docker_client) == before


def test_destroy_local_network_removes_an_unused_network(
        client: AgentClient, docker_client: docker.DockerClient, unique: str) -> None:
    name = f"delete-me-network-{unique}"
    client.create_local_network(name)
    assert client.call("destroy_local_network", network_name=name) is None
    assert name not in network_names(docker_client)


def test_destroy_local_network_refuses_a_network_the_agent_did_not_make_and_keeps_it(
        client: AgentClient, docker_client: docker.DockerClient, unique: str) -> None:
    name = f"not-mine-network-{unique}"
    other = docker_client.networks.create(name, driver="bridge", labels={TEST_LABEL: "1"})
    try:
        for target in (name, "bridge"):
            with pytest.raises(RuntimeError, match="not made by this agent"):
                client.destroy_local_network(target)
        assert {name, "bridge"} <= network_names(docker_client)
    finally:
        other.remove()


def test_destroy_local_network_refuses_a_missing_network(client: AgentClient, unique: str) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        client.destroy_local_network(f"non-existent-network-{unique}")


def test_destroy_local_network_refuses_a_network_in_use_and_keeps_the_container_connected(
        client: AgentClient, docker_client: docker.DockerClient, kernel_image: str, unique: str) -> None:
    name = f"busy-network-{unique}"
    client.create_local_network(name)
    net = docker_client.networks.get(name)
    box = docker_client.containers.run(kernel_image, ["sleep", "300"], detach=True, network=name,
                                       labels={TEST_LABEL: "1"}, init=True)
    try:
        with pytest.raises(RuntimeError, match="cannot remove network"):
            client.destroy_local_network(name)
        assert name in network_names(docker_client)
        box.reload()
        assert box.status == "running"
        assert name in box.attrs["NetworkSettings"]["Networks"]
    finally:
        box.remove(force=True)
        net.remove()
