"""A real agent-worker stopped in every way: kernels kept (SIGINT, SIGKILL, shutdown SIGINT) and
re-attached by the next start, or destroyed (SIGTERM, shutdown SIGTERM)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import redis
from celery import Celery

from agent_client.client import AgentClient
from agent_client.events import read_all
from tests.support.agent_process import REPO, AgentProcess, new_agent_id

pytestmark = pytest.mark.system


class Host:
    """One agent id whose worker is started again and again on the same var dir."""

    def __init__(self, redis_url: str, client_app: Celery) -> None:
        self.agent_id = new_agent_id("life")
        self.redis_url, self.client_app = redis_url, client_app
        low = random.randrange(20000, 29000, 100)  # not the in-process agent's ports
        self.env = {"AGENT_PORT_RANGE": f"[{low}, {low + 99}]"}
        self.var_dir: Path | None = None
        self.proc: AgentProcess | None = None

    def start(self) -> AgentClient:
        self.proc = AgentProcess(self.agent_id, self.redis_url, extra_env=self.env, var_dir=self.var_dir)
        self.var_dir = self.proc.var_dir
        self.proc.wait_alive()
        return AgentClient(self.agent_id, self.redis_url, app=self.client_app, default_timeout=120)

    def exit_code(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.proc.wait(timeout)

    def allocated(self) -> set[str]:
        assert self.var_dir is not None
        with sqlite3.connect(self.var_dir / "agent.db") as db:
            return {r[0] for r in db.execute("SELECT DISTINCT kernel_id FROM allocations")}

    def events(self, name: str) -> list[dict[str, Any]]:
        r = redis.Redis.from_url(self.redis_url)
        try:
            return [e.payload for e in read_all(r) if e.source == self.agent_id and e.name == name]
        finally:
            r.close()


@pytest.fixture(scope="module")
def kernel_image(docker_engine: object) -> str:
    """The Python kernel image (built offline, cached by its recipe hash)."""
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True, capture_output=True)
    return "kernel-python:latest"


@pytest.fixture
def agent_host(redis_url: str, client_app: Celery, docker_engine: object) -> Iterator[Host]:
    h = Host(redis_url, client_app)
    yield h
    if h.proc is not None:
        h.proc.stop()  # SIGTERM: destroys whatever a failed test left


def create(client: AgentClient, n: int) -> tuple[str, list[str]]:
    session_id, ids = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(n)]
    config = {"image": {"canonical": "kernel-python:latest", "is_local": True},
              "resource_slots": {"cpu": 1, "mem": "64m"}}
    client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=ids, raw_configs=[config] * n)
    return session_id, ids


def containers(d: docker.DockerClient, kernel_id: str) -> list[Any]:
    return list(d.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}))


def runs_code(client: AgentClient, session_id: str, kernel_id: str) -> bool:
    r = client.call("execute", session_id=session_id, kernel_id=kernel_id, mode="query", code="print(6 * 7)")
    return bool(r["console"] == [["stdout", "42\n"]])


def terminated(h: Host, kernel_id: str) -> list[str]:
    return [e["reason"] for e in h.events("kernel_terminated") if e["kernel_id"] == kernel_id]


def test_sigkill_then_start_reattaches_live_kernels_and_cleans_dead_ones_then_sigint_keeps_sigterm_destroys(
        agent_host: Host, docker_engine: docker.DockerClient, kernel_image: str) -> None:
    client = agent_host.start()
    session_id, (alive, dead) = create(client, 2)
    assert agent_host.proc is not None
    agent_host.proc.proc.kill()  # SIGKILL: nothing of the agent runs its shutdown
    agent_host.exit_code()
    docker_engine.api.kill(containers(docker_engine, dead)[0].id)  # dies while nobody watches

    client = agent_host.start()
    assert runs_code(client, session_id, alive)
    assert terminated(agent_host, dead) == ["self-terminated"] and containers(docker_engine, dead) == []
    assert agent_host.allocated() == {alive}

    assert agent_host.proc is not None
    agent_host.proc.proc.send_signal(signal.SIGINT)
    assert agent_host.exit_code() == 0
    assert containers(docker_engine, alive)[0].status == "running" and terminated(agent_host, alive) == []
    assert len(agent_host.events("agent_terminated")) == 1  # the SIGKILLed run said nothing

    client = agent_host.start()
    assert runs_code(client, session_id, alive)
    assert agent_host.proc.terminate() == 0  # SIGTERM
    assert terminated(agent_host, alive) == ["agent-termination"] and containers(docker_engine, alive) == []
    assert agent_host.allocated() == set()


def test_shutdown_task_sigint_keeps_kernels_and_sigterm_destroys_them(
        agent_host: Host, docker_engine: docker.DockerClient, kernel_image: str) -> None:
    client = agent_host.start()
    session_id, (kernel_id,) = create(client, 1)
    assert client.call("shutdown", stop_signal="SIGINT") is None
    assert agent_host.exit_code() == 0
    assert containers(docker_engine, kernel_id)[0].status == "running"
    assert len(agent_host.events("agent_terminated")) == 1

    client = agent_host.start()
    assert runs_code(client, session_id, kernel_id)
    started = time.monotonic()
    client.call("shutdown", stop_signal=int(signal.SIGTERM))
    assert terminated(agent_host, kernel_id) == ["agent-termination"] and containers(docker_engine, kernel_id) == []
    assert agent_host.exit_code() == 0 and time.monotonic() - started < 30
    assert len(agent_host.events("agent_terminated")) == 2 and agent_host.allocated() == set()
