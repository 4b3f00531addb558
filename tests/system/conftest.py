"""System fixtures: real `agent-worker` processes and a manager-side Celery app of its own."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
import redis
from celery import Celery

from agent_client.client import make_client_app
from tests.support.kernel_images import build_slow_runner_image


@pytest.fixture(scope="session")
def client_app(redis_url: str) -> Iterator[Celery]:
    """The manager's side: a separate Celery app that knows no task of the agent."""
    app = make_client_app(redis_url)
    yield app
    app.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(redis_url)
    yield r
    r.close()


@pytest.fixture(scope="session")
def slow_runner_image(docker_engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernel image whose runner answers 3 s after its container starts: a creation stays in flight
    (in its last stage) that long."""
    tag = build_slow_runner_image(tmp_path_factory.mktemp("slow"), seconds=3)
    yield tag
    docker_engine.images.remove(tag, force=True)
