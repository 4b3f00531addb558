"""Real `agent-worker` processes on one machine, driven from a separate client app and the celery CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult

from agent_client.client import AgentClient
from agent_client.events import read_all
from contract.errors import AgentUnavailable
from contract.naming import liveness_key
from tests.support.agent_process import REPO, AgentProcess, new_agent_id

pytestmark = pytest.mark.system
CELERY = str(Path(sys.executable).parent / "celery")


@pytest.fixture(scope="module")
def two_agents(redis_url: str, docker_engine: object) -> Iterator[tuple[AgentProcess, AgentProcess]]:
    """Two hosts' workers on this machine (started together, once for the module)."""
    agents = (AgentProcess(new_agent_id("a"), redis_url), AgentProcess(new_agent_id("b"), redis_url))
    try:
        for a in agents:
            a.wait_alive()
        yield agents
    finally:
        for a in agents:
            a.stop()


def test_each_worker_runs_only_the_tasks_sent_to_its_own_agent(
        two_agents: tuple[AgentProcess, AgentProcess], redis_url: str, client_app: Celery) -> None:
    clients = [AgentClient(a.agent_id, redis_url, app=client_app) for a in two_agents]
    sent = [(a, c.send("ping", msg=f"{a.agent_id}-{i}"), f"{a.agent_id}-{i}")
            for i in range(8) for a, c in zip(two_agents, clients, strict=True)]
    for agent, result, msg in sent:
        assert result.get(timeout=30) == msg
        assert result.worker == agent.worker_name
        assert result.queue == f"agent.{agent.agent_id}"
    for c in clients:
        c.close()


def test_a_task_for_a_host_without_a_live_worker_fails_at_once(
        redis_url: str, client_app: Celery, redis_client: redis.Redis) -> None:
    agent_id = new_agent_id("nobody")
    client = AgentClient(agent_id, redis_url, app=client_app)
    started = time.monotonic()
    with pytest.raises(AgentUnavailable, match=f"no live worker for agent '{agent_id}'") as caught:
        client.ping("anyone there?")
    assert time.monotonic() - started < 1.0
    assert isinstance(caught.value, RuntimeError)
    assert redis_client.llen(f"agent.{agent_id}") == 0  # nothing was left waiting in the queue
    client.close()


def test_a_message_sent_anyway_expires_instead_of_running_when_the_worker_comes_late(
        redis_url: str, client_app: Celery, docker_engine: object) -> None:
    agent_id = new_agent_id("late")
    # A manager that skips the liveness check (or races a dying worker) still sets `expires`.
    stale = AgentClient(agent_id, redis_url, app=client_app, expires=1.0)
    current = AgentClient(agent_id, redis_url, app=client_app, expires=600.0)
    stale_result = stale.signature("ping", msg="stale").apply_async()
    current_result = current.signature("ping", msg="current").apply_async()
    time.sleep(1.5)
    late = AgentProcess(agent_id, redis_url)
    try:
        late.wait_alive()
        assert current_result.get(timeout=30) == "current"
        with pytest.raises(TaskRevokedError, match="expired"):
            stale_result.get(timeout=30)
        assert stale_result.state == "REVOKED"
    finally:
        late.stop()
        stale.close()
        current.close()


def test_the_celery_cli_sends_a_task_by_name_and_prints_its_result(
        two_agents: tuple[AgentProcess, AgentProcess], client_app: Celery) -> None:
    agent = two_agents[0]
    call = subprocess.run(
        [CELERY, "-A", "worker.app", "call", "agent.ping", "--kwargs", json.dumps({"msg": "x"}),
         "--queue", f"agent.{agent.agent_id}"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    task_id = call.stdout.strip()
    result = subprocess.run([CELERY, "-A", "worker.app", "result", task_id],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "x"
    assert AsyncResult(task_id, app=client_app).worker == agent.worker_name


def test_sigterm_stops_the_worker_and_says_agent_terminated(
        redis_url: str, client_app: Celery, redis_client: redis.Redis, docker_engine: object) -> None:
    agent = AgentProcess(new_agent_id("term"), redis_url)
    try:
        agent.wait_alive()
        assert agent.terminate() == 0
    finally:
        agent.stop()
    names = [e.name for e in read_all(redis_client) if e.source == agent.agent_id]
    assert names[0] == "agent_started"
    assert "agent_heartbeat" in names
    assert names[-1] == "agent_terminated"
    assert not redis_client.exists(liveness_key(agent.agent_id))
    client = AgentClient(agent.agent_id, redis_url, app=client_app)
    with pytest.raises(AgentUnavailable):
        client.ping("still there?")
    client.close()
