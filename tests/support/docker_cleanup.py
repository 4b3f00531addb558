"""Every Docker object a test run makes carries a test label or a test agent id; this removes them.

Several test sessions may share one Docker engine (developers running suites side by side), so a
session removes only what it made (created after it started, or owned by its own agent id), plus
leftovers of crashed sessions (older than STALE_AFTER).
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

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


STALE_AFTER = 30 * 60.0


def is_test_object(labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return TEST_LABEL in labels or labels.get(OWNER_LABEL, "").startswith(TEST_AGENT_PREFIX)


def created_at(attrs: dict[str, Any]) -> float:
    """Docker's `Created` (`CreatedAt` for a volume; RFC 3339, UTC) as a Unix time."""
    stamp = str(attrs.get("Created") or attrs.get("CreatedAt") or "")[:19]
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def test_containers(client: docker.DockerClient) -> list[docker.models.containers.Container]:
    return [c for c in client.containers.list(all=True, ignore_removed=True) if is_test_object(c.labels)]


def test_networks(client: docker.DockerClient) -> list[docker.models.networks.Network]:
    return [n for n in client.networks.list() if is_test_object(n.attrs.get("Labels"))]


def remove_test_objects(client: docker.DockerClient, since: float, agent_id: str) -> None:
    """Remove this session's test objects and stale ones of any session. Kernels are this session's
    when an agent of the session owns them (system-test agents' ids start with the session's id);
    other test objects when they were made after `since`."""
    stale = time.time() - STALE_AFTER

    def ours(attrs: dict[str, Any], labels: dict[str, str] | None) -> bool:
        made = created_at(attrs)
        owner = (labels or {}).get(OWNER_LABEL)
        if owner is not None:
            return owner.startswith(agent_id) or made < stale
        return made >= since - 1 or made < stale

    for c in test_containers(client):
        if ours(c.attrs, c.labels):
            with contextlib.suppress(NotFound, APIError):
                c.remove(force=True, v=True)
    for n in test_networks(client):
        if ours(n.attrs, n.attrs.get("Labels")):
            with contextlib.suppress(NotFound, APIError):
                n.remove()
    for v in client.volumes.list():
        if is_test_object(v.attrs.get("Labels")) and ours(v.attrs, v.attrs.get("Labels")):
            with contextlib.suppress(NotFound, APIError):
                v.remove(force=True)
    for img in client.images.list(filters={"label": TEST_LABEL}):
        if ours(img.attrs, img.labels):
            with contextlib.suppress(NotFound, APIError):
                client.images.remove(img.id, force=True)
