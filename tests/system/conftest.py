"""System fixtures: real `agent-worker` processes and a manager-side Celery app of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from agent_client.client import make_client_app


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
