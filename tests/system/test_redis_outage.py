"""Redis going away under a real `agent-worker`: restarted with a kernel creation in flight, and
not there yet when the agent starts. The agent keeps running (the same process), serves again
soon after Redis is back, and the creation ends created or cleaned, never half-made."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis

from agent_client.client import AgentClient, make_client_app
from tests.support.agent_process import AgentProcess, new_agent_id
from tests.support.outage import (
    assert_kernel_gone,
    drop_results,
    seconds_until_it_serves,
    wait_for_container,
    wait_for_log,
)
from tests.support.redis_server import RedisServer, free_port

pytestmark = pytest.mark.system

@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own that keeps its data across a restart (an append-only file)."""
    server = RedisServer(data_dir=tmp_path)
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_a_redis_restart_under_a_creation_in_flight_leaves_the_agent_serving_and_the_host_clean(
        redis_server: RedisServer, docker_engine: docker.DockerClient, slow_runner_image: str) -> None:
    agent = AgentProcess(new_agent_id("outage"), redis_server.url)
    app = make_client_app(redis_server.url)
    client = AgentClient(agent.agent_id, redis_server.url, app=app)
    try:
        agent.wait_alive()
        kernel_id = str(uuid.uuid4())
        creation_id = client.send("create_kernels", raw_session_id=str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                               raw_configs=[{"image": {"canonical": slow_runner_image, "is_local": True},
                                             "resource_slots": {"cpu": 1, "mem": "128m"}}]).id
        wait_for_container(docker_engine, agent, kernel_id)

        redis_server.stop()
        wait_for_log(agent, "Connection to broker lost")
        redis_server.start()
        took = seconds_until_it_serves(client, agent)
        print(f"serving again {took:.1f} s after Redis came back")

        try:  # created or cleaned; either way the caller hears
            created = client.app.AsyncResult(creation_id).get(timeout=60)
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
        drop_results()
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
        drop_results()
        client.close()
        app.close()
        agent.stop()
        if server is not None:
            server.stop()
