"""AgentClient's liveness check: refuses a host without a live worker, trusts a live one for a second."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from agent_client import client as client_module
from agent_client.client import AgentClient
from contract.errors import AgentUnavailable
from worker import liveness


@pytest.fixture
def agent(redis_url: str, unique: str) -> Iterator[tuple[AgentClient, redis.Redis]]:
    r = redis.Redis.from_url(redis_url)
    c = AgentClient(f"test-liveness-{unique}", redis_url)
    yield c, r
    liveness.mark_gone(r, c.agent_id)
    c.close()
    r.close()


def test_a_host_that_comes_up_is_seen_at_once_after_a_refusal(agent: tuple[AgentClient, redis.Redis]) -> None:
    c, r = agent
    with pytest.raises(AgentUnavailable, match=c.agent_id):
        c.ensure_alive()
    liveness.mark_alive(r, c.agent_id)
    c.ensure_alive()


def test_a_live_answer_is_reused_for_a_second_and_then_asked_again(
        agent: tuple[AgentClient, redis.Redis], monkeypatch: pytest.MonkeyPatch) -> None:
    c, r = agent
    now = [1000.0]
    monkeypatch.setattr(client_module.time, "monotonic", lambda: now[0])
    liveness.mark_alive(r, c.agent_id)
    c.ensure_alive()
    liveness.mark_gone(r, c.agent_id)
    now[0] += client_module.LIVENESS_CACHE_S / 2
    c.ensure_alive()  # cached: no Redis round trip on this call
    now[0] += client_module.LIVENESS_CACHE_S
    with pytest.raises(AgentUnavailable):
        c.ensure_alive()
