"""Events while Redis cannot be reached: the caller never waits for Redis, the events wait in a
bounded backlog and reach the stream in order once Redis answers; what cannot be kept is counted
and logged. Deferred events go with their thread's next one."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import redis

from contract.events import DoAgentResourceCheck
from worker.events import EventProducer


class FlakyRedis:
    """Stands in for the Redis client: while `down`, every pipeline fails to connect."""

    def __init__(self) -> None:
        self.down = False
        self.stream: list[str] = []
        self.round_trips = 0

    def pipeline(self, transaction: bool = True) -> Any:
        return _Pipeline(self)

    def close(self) -> None:
        pass


class _Pipeline:
    def __init__(self, owner: FlakyRedis) -> None:
        self.owner = owner
        self.payloads: list[str] = []

    def xadd(self, stream: str, fields: dict[str, str], **_: Any) -> None:
        self.payloads.append(fields["payload"])

    def publish(self, channel: str, message: str) -> None:
        pass

    def execute(self) -> list[Any]:
        if self.owner.down:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.owner.round_trips += 1
        replies: list[Any] = []
        for payload in self.payloads:
            self.owner.stream.append(payload)
            replies += [f"{len(self.owner.stream)}-0", 0]
        return replies


def event(n: int) -> DoAgentResourceCheck:
    return DoAgentResourceCheck(agent_id=f"agent-{n}")


def sent(fake: FlakyRedis) -> list[str]:
    return [p.split('"agent_id":"')[1].split('"')[0] for p in fake.stream]


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_events_wait_while_redis_is_unreachable_then_reach_it_in_order_before_newer_ones() -> None:
    fake = FlakyRedis()
    producer = EventProducer(fake, "agent")  # type: ignore[arg-type]
    assert producer.produce(event(0)) == "1-0"
    fake.down = True
    assert producer.produce(event(1)) is None and producer.produce(event(2)) is None
    assert producer.pending() == 2
    fake.down = False
    producer.produce(event(3))  # behind the backlog, never ahead of it
    wait_until(lambda: producer.pending() == 0)
    assert sent(fake) == ["agent-0", "agent-1", "agent-2", "agent-3"]
    assert producer.produce(event(4)) == "5-0"  # straight to Redis again


def test_a_caller_never_waits_for_redis() -> None:
    fake = FlakyRedis()
    fake.down = True
    producer = EventProducer(fake, "agent")  # type: ignore[arg-type]
    started = time.monotonic()
    for n in range(200):
        producer.produce(event(n))
    assert time.monotonic() - started < 1.0 and producer.pending() == 200


def test_a_full_backlog_drops_new_events_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    fake = FlakyRedis()
    fake.down = True
    producer = EventProducer(fake, "agent", backlog=2)  # type: ignore[arg-type]
    for n in range(3):
        producer.produce(event(n))
    assert producer.dropped == 1 and "backlog full" in caplog.text
    fake.down = False
    wait_until(lambda: producer.pending() == 0)
    assert sent(fake) == ["agent-0", "agent-1"]


def test_closing_while_redis_is_away_says_how_many_events_are_lost(caplog: pytest.LogCaptureFixture) -> None:
    fake = FlakyRedis()
    fake.down = True
    producer = EventProducer(fake, "agent")  # type: ignore[arg-type]
    producer.produce(event(0))
    with caplog.at_level(logging.ERROR):
        producer.close(timeout=0.2)
    assert "1 events never reached Redis and are lost" in caplog.text


def test_deferred_events_go_with_the_threads_next_event_in_one_round_trip() -> None:
    fake = FlakyRedis()
    producer = EventProducer(fake, "agent")  # type: ignore[arg-type]
    producer.defer(event(0))
    producer.defer(event(1))
    other = threading.Thread(target=lambda: producer.produce(event(9)))  # another thread's event
    other.start()
    other.join()
    assert sent(fake) == ["agent-9"] and fake.round_trips == 1
    assert producer.produce(event(2)) == "4-0"
    assert sent(fake) == ["agent-9", "agent-0", "agent-1", "agent-2"] and fake.round_trips == 2
    producer.defer(event(3))
    producer.flush()
    producer.flush()  # nothing deferred: no round trip
    assert sent(fake)[-1] == "agent-3" and fake.round_trips == 3


def test_deferred_events_wait_in_the_backlog_in_order_while_redis_is_away() -> None:
    fake = FlakyRedis()
    producer = EventProducer(fake, "agent")  # type: ignore[arg-type]
    fake.down = True
    producer.defer(event(0))
    producer.produce(event(1))
    assert producer.pending() == 2
    fake.down = False
    wait_until(lambda: producer.pending() == 0)
    assert sent(fake) == ["agent-0", "agent-1"]
