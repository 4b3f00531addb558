"""Redis going away under a real `agent-worker`: restarted with a kernel creation in flight, and
not there yet when the agent starts. The agent keeps running (the same process), serves again
soon after Redis is back, and the creation ends created or cleaned, never half-made."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis
from celery.exceptions import TimeoutError as ResultTimeout

from agent_client.client import AgentClient, make_client_app
from contract.errors import AgentUnavailable
from tests.support.agent_process import AgentProcess, new_agent_id
from tests.support.kernel_images import build_slow_runner_image
from tests.support.redis_server import RedisServer, free_port

pytestmark = pytest.mark.system

SERVING_AGAIN_S = 60.0


@pytest.fixture(scope="module")
def slow_runner_image(docker_engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernel image whose runner answers 3 s after the container starts: a creation is in flight
    for that long."""
    tag = build_slow_runner_image(tmp_path_factory.mktemp("slow"), seconds=3)
    yield tag
    docker_engine.images.remove(tag, force=True)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own that keeps its data across a restart (an append-only file)."""
    server = RedisServer(data_dir=tmp_path)
    yield server
    if server.proc.poll() is None:
        server.stop()


def wait_for_log(agent: AgentProcess, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in agent.log():
        assert agent.proc.poll() is None, f"agent-worker exited:\n{agent.log()}"
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log:\n{agent.log()}"
        time.sleep(0.05)


def seconds_until_it_serves(client: AgentClient, agent: AgentProcess) -> float:
    """Ping until a round trip succeeds; the seconds it took (the worker must not exit meanwhile)."""
    start = time.monotonic()
    while True:
        assert agent.proc.poll() is None, f"agent-worker exited:\n{agent.log()}"
        try:
            assert client.call("ping", msg="back", wait=5) == "back"
            return time.monotonic() - start
        except (AgentUnavailable, redis.ConnectionError, ResultTimeout):
            assert time.monotonic() - start < SERVING_AGAIN_S, f"not serving {SERVING_AGAIN_S} s later:\n{agent.log()}"
            time.sleep(0.2)


def assert_kernel_gone(d: docker.DockerClient, agent: AgentProcess, kernel_id: str) -> None:
    assert d.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}) == []
    assert not (agent.var_dir / "scratches" / kernel_id).exists()
    assert not (agent.var_dir / "ipc" / kernel_id).exists()


def test_a_redis_restart_under_a_creation_in_flight_leaves_the_agent_serving_and_the_host_clean(
        redis_server: RedisServer, docker_engine: docker.DockerClient, slow_runner_image: str) -> None:
    agent = AgentProcess(new_agent_id("outage"), redis_server.url)
    app = make_client_app(redis_server.url)
    client = AgentClient(agent.agent_id, redis_server.url, app=app)
    try:
        agent.wait_alive()
        kernel_id = str(uuid.uuid4())
        creation = client.send("create_kernels", raw_session_id=str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                               raw_configs=[{"image": {"canonical": slow_runner_image, "is_local": True},
                                             "resource_slots": {"cpu": 1, "mem": "128m"}}])
        label = {"label": f"ai.backend.kernel-id={kernel_id}"}
        deadline = time.monotonic() + 60
        while not docker_engine.containers.list(filters=label):  # in its last stage: the runner's handshake
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.05)

        redis_server.stop()
        wait_for_log(agent, "Connection to broker lost")
        redis_server.start()
        took = seconds_until_it_serves(client, agent)
        print(f"serving again {took:.1f} s after Redis came back")

        try:  # created or cleaned; either way the caller hears
            created = client.app.AsyncResult(creation.id).get(timeout=60)
        except RuntimeError:
            assert_kernel_gone(docker_engine, agent, kernel_id)
        else:
            assert created[0]["id"] == kernel_id  # SIGTERM below destroys it
        r = redis.Redis.from_url(redis_server.url)
        assert r.hlen("unacked") == 0  # the step that outlived its connection acknowledged its message
        r.close()
        log = agent.log()
        assert "Unrecoverable error" not in log and "Restoring" not in log
        assert agent.terminate() == 0  # SIGTERM: its kernels destroyed, a clean exit
        assert_kernel_gone(docker_engine, agent, kernel_id)
    finally:
        client.close()
        app.close()
        agent.stop()


def test_an_agent_started_while_redis_is_down_waits_for_it_then_serves(tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    agent = AgentProcess(new_agent_id("early"), url)
    server = None
    app = make_client_app(url)
    client = AgentClient(agent.agent_id, url, app=app)
    try:
        wait_for_log(agent, "trying again in")  # a second try: it waits, it did not give up
        wait_for_log(agent, "(try 2)")
        server = RedisServer(port=port)
        took = seconds_until_it_serves(client, agent)
        print(f"serving {took:.1f} s after Redis came up")
        assert "Redis answers after" in agent.log()
        assert agent.terminate() == 0
    finally:
        client.close()
        app.close()
        agent.stop()
        if server is not None:
            server.stop()
