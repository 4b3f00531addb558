"""Every Docker object a test run makes carries a test label or a test agent id; this removes them."""

from __future__ import annotations

import contextlib

import docker
from docker.errors import APIError, NotFound

TEST_LABEL = "agent.test"
OWNER_LABEL = "ai.backend.owner"
TEST_AGENT_PREFIX = "test-"


def docker_client() -> docker.DockerClient:
    client = docker.from_env(timeout=120)
    try:
        client.ping()
    except Exception as e:
        raise RuntimeError(f"Docker Engine is not reachable ({e}): the tests need a real Docker") from None
    return client


def is_test_object(labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return TEST_LABEL in labels or labels.get(OWNER_LABEL, "").startswith(TEST_AGENT_PREFIX)


def test_containers(client: docker.DockerClient) -> list[docker.models.containers.Container]:
    return [c for c in client.containers.list(all=True, ignore_removed=True) if is_test_object(c.labels)]


def test_networks(client: docker.DockerClient) -> list[docker.models.networks.Network]:
    return [n for n in client.networks.list() if is_test_object(n.attrs.get("Labels"))]


def remove_test_objects(client: docker.DockerClient) -> None:
    for c in test_containers(client):
        with contextlib.suppress(NotFound, APIError):
            c.remove(force=True, v=True)
    for n in test_networks(client):
        with contextlib.suppress(NotFound, APIError):
            n.remove()
    for img in client.images.list(filters={"label": TEST_LABEL}):
        with contextlib.suppress(NotFound, APIError):
            client.images.remove(img.id, force=True)
