"""`agentctl agents`: the live agents of the Redis from their liveness keys and heartbeats."""

from __future__ import annotations

import json
import time

import pytest
import redis

from agent_client.agents import live_agents
from agent_client.cli.main import main
from contract.naming import liveness_key
from worker.config import AgentSettings
from worker.state.kernels import KernelRecord


def test_agents_lists_this_agent_with_its_group_kernels_and_a_recent_heartbeat(
        kernel: KernelRecord, settings: AgentSettings, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 10 * settings.heartbeat_interval
        while not any(a.id == settings.id and (a.kernels or 0) >= 1 for a in live_agents(r, settings.events_stream)):
            assert time.monotonic() < deadline, "no heartbeat counting the kernel"
            time.sleep(0.2)
    finally:
        r.close()
    assert main(["--redis-url", redis_url, "agents", "--json"]) == 0
    listed = {a["id"]: a for a in json.loads(capsys.readouterr().out)}
    me = listed[settings.id]
    assert (me["scaling_group"], me["queue"]) == ("default", settings.queue)
    assert me["kernels"] >= 1 and time.time() - me["last_heartbeat"] < 3 * settings.heartbeat_interval
    assert main(["--redis-url", redis_url, "agents"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "SCALING", "GROUP", "KERNELS", "LAST", "HEARTBEAT"]
    assert any(line.startswith(settings.id + " ") and " default " in line for line in lines)


def test_an_agent_without_a_liveness_key_is_not_listed(
        worker: object, settings: AgentSettings, redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    try:
        r.set(liveness_key("test-ghost"), "1", ex=60)  # alive, but it never sent a heartbeat
        listed = {a.id: a for a in live_agents(r, settings.events_stream)}
        assert listed["test-ghost"].last_heartbeat is None and listed["test-ghost"].kernels is None
        r.delete(liveness_key("test-ghost"))
        assert "test-ghost" not in {a.id for a in live_agents(r, settings.events_stream)}
    finally:
        r.close()
