"""The manager's event readers against a real Redis: a cursor sees what comes after it; a consumer
group hands each event to one consumer and keeps unacknowledged ones for it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis

from agent_client.events import EventConsumer, StreamCursor


@pytest.fixture
def stream(redis_url: str, unique: str) -> Iterator[tuple[redis.Redis, str]]:
    r = redis.Redis.from_url(redis_url)
    name = f"test-events-{unique}"
    yield r, name
    r.delete(name)
    r.close()


def add(r: redis.Redis, stream: str, name: str) -> None:
    r.xadd(stream, {"name": name, "source": "test-agent", "payload": json.dumps({"n": name})})


def test_a_cursor_reads_only_what_came_after_it(stream: tuple[redis.Redis, str]) -> None:
    r, name = stream
    add(r, name, "before")
    cursor = StreamCursor(r, name)
    assert cursor.read() == []
    add(r, name, "after-1")
    add(r, name, "after-2")
    assert [e.name for e in cursor.read()] == ["after-1", "after-2"]
    assert cursor.read(block_ms=10) == []


def test_a_consumer_group_delivers_each_event_once_and_acknowledges_what_was_handled(
        stream: tuple[redis.Redis, str]) -> None:
    r, name = stream
    one = EventConsumer(r, "managers", "m1", stream=name, start="0")
    two = EventConsumer(r, "managers", "m2", stream=name, start="0")
    for n in ("a", "b", "c"):
        add(r, name, n)
    got_one = one.read(count=2, block_ms=10)
    got_two = two.read(block_ms=10)
    assert sorted(e.name for e in got_one + got_two) == ["a", "b", "c"]
    one.ack(*got_one)
    assert r.xpending(name, "managers")["pending"] == len(got_two)
