"""Integration fixtures: the agent's worker in-process (threads pool, real Redis, real Docker)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import redis
from celery.contrib.testing.worker import start_worker

from agent_client.client import AgentClient
from agent_client.events import ReceivedEvent, latest_entry_id, read_all
from tests.support.registry import LocalRegistry
from worker.config import AgentSettings
from worker.runtime import host

REPO = Path(__file__).resolve().parents[2]
KERNEL_IMAGE = "kernel-python:latest"


@pytest.fixture(scope="session")
def settings() -> AgentSettings:
    return host().settings


@pytest.fixture(scope="session")
def worker(docker_engine: docker.DockerClient) -> Iterator[Any]:
    """This host's worker, started once for the session in this process."""
    from worker.app import app

    app.loader.import_default_modules()
    s = host().settings
    with start_worker(app, pool="threads", concurrency=16, queues=[s.queue], perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=30) as w:
        yield w


@pytest.fixture
def client(worker: Any, redis_url: str, settings: AgentSettings) -> Iterator[AgentClient]:
    c = AgentClient(settings.id, redis_url, default_timeout=120)
    yield c
    c.close()


@pytest.fixture
def docker_client(docker_engine: docker.DockerClient) -> docker.DockerClient:
    return docker_engine


@pytest.fixture(scope="session")
def registry() -> Iterator[LocalRegistry]:
    """A private registry (docker-registry, htpasswd auth) on a free loopback port, for the session."""
    reg = LocalRegistry()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def kernel_image(docker_engine: docker.DockerClient) -> str:
    """The Python kernel image, built offline from Debian packages (cached by its recipe hash)."""
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True)
    return KERNEL_IMAGE


class EventLog:
    """Reads the agent's event stream; `since()` gives what came after the mark."""

    def __init__(self, url: str, stream: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self.stream = stream
        self.mark = "0-0"

    def reset(self) -> None:
        self.mark = latest_entry_id(self._redis, self.stream)

    def since(self) -> list[ReceivedEvent]:
        return [e for e in read_all(self._redis, self.stream) if _after(e.entry_id, self.mark)]

    def named(self, *names: str) -> list[ReceivedEvent]:
        return [e for e in self.since() if e.name in names]


def _after(a: str, b: str) -> bool:
    return tuple(map(int, a.split("-"))) > tuple(map(int, b.split("-")))


@pytest.fixture
def events(redis_url: str, settings: AgentSettings) -> Iterator[EventLog]:
    log = EventLog(redis_url, settings.events_stream)
    log.reset()
    yield log
    log._redis.close()


def kernel_config(image: str, **overrides: Any) -> dict[str, Any]:
    """A minimal creation config for the local kernel image (1 core, 256 MiB)."""
    config: dict[str, Any] = {"image": {"canonical": image, "is_local": True},
                              "resource_slots": {"cpu": 1, "mem": "256m"}}
    config.update(overrides)
    return config


@pytest.fixture
def make_kernel(client: AgentClient, kernel_image: str) -> Iterator[Any]:
    """`make_kernel(**config_overrides) -> KernelRecord`: a kernel made through the real pipeline,
    destroyed after the test (if the test did not already)."""
    import uuid

    made: list[tuple[str, str]] = []

    def make(**overrides: Any) -> Any:
        kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
        made.append((kernel_id, session_id))
        client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                    raw_configs=[kernel_config(kernel_image, **overrides)], wait=120)
        return host().registry.get(kernel_id)

    yield make
    for kernel_id, session_id in made:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)


@pytest.fixture
def kernel(make_kernel: Any) -> Any:
    """A running kernel (its KernelRecord), destroyed after the test."""
    return make_kernel()
