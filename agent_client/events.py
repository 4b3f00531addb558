"""Reading the agents' domain events from the Redis stream, as a manager does.

`StreamCursor` notes a position and reads what comes after it (progress of one operation, `agentctl
events tail -f`); `EventConsumer` reads through a consumer group, so each event is handled once
by one of a manager's processes and acknowledged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from contract.naming import DEFAULT_EVENTS_STREAM


@dataclass(frozen=True)
class ReceivedEvent:
    entry_id: str
    name: str
    source: str
    payload: dict[str, Any]


def parse_entry(entry_id: bytes | str, fields: dict[Any, Any]) -> ReceivedEvent:
    def text(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    f = {text(k): text(v) for k, v in fields.items()}
    return ReceivedEvent(text(entry_id), f["name"], f["source"], json.loads(f["payload"]))


def parse_entries(entries: Any) -> list[ReceivedEvent]:
    """Entries as XRANGE and XREVRANGE return them: `[(id, {field: value}), ...]`."""
    return [parse_entry(entry_id, fields) for entry_id, fields in entries or []]


def parse_read_reply(reply: Any) -> list[ReceivedEvent]:
    """An XREAD or XREADGROUP reply: `[(stream, [(id, {field: value}), ...]), ...]` (None: nothing new)."""
    return [event for _, entries in reply or [] for event in parse_entries(entries)]


def read_all(client: redis.Redis, stream: str = DEFAULT_EVENTS_STREAM) -> list[ReceivedEvent]:
    """Every event still in the stream, oldest first."""
    return parse_entries(client.xrange(stream))


def latest_entry_id(client: redis.Redis, stream: str) -> str:
    """The id of the stream's newest entry ("0-0" for an empty stream)."""
    last: Any = client.xrevrange(stream, count=1)
    return str(parse_entries(last)[0].entry_id) if last else "0-0"


class StreamCursor:
    """A position in the events stream; `read` returns the events after it and moves past them.
    Made before an operation is sent, it sees every event the operation causes."""

    def __init__(self, client: redis.Redis, stream: str = DEFAULT_EVENTS_STREAM, position: str | None = None) -> None:
        self._redis = client
        self.stream = stream
        self.position = position if position is not None else latest_entry_id(client, stream)

    def read(self, block_ms: int | None = None, count: int = 100) -> list[ReceivedEvent]:
        """The events after the position (waiting up to `block_ms` for one when there is none)."""
        events = parse_read_reply(self._redis.xread({self.stream: self.position}, block=block_ms, count=count))
        if events:
            self.position = events[-1].entry_id
        return events

    def follow(self, deadline: float | None = None, block_ms: int = 500) -> Iterator[ReceivedEvent]:
        """Events as they come, until `deadline` (time.monotonic) if one is given."""
        while deadline is None or time.monotonic() < deadline:
            yield from self.read(block_ms=block_ms)


class EventConsumer:
    """Reads `stream` as member `consumer` of `group`; each event is acknowledged once handled."""

    def __init__(self, client: redis.Redis, group: str, consumer: str, stream: str = DEFAULT_EVENTS_STREAM,
                 start: str = "$") -> None:
        self._redis = client
        self.stream, self.group, self.consumer = stream, group, consumer
        try:
            client.xgroup_create(stream, group, id=start, mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def read(self, count: int = 100, block_ms: int | None = 1000) -> list[ReceivedEvent]:
        """New events for this consumer (waits up to `block_ms`)."""
        return parse_read_reply(self._redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                       count=count, block=block_ms))

    def ack(self, *events: ReceivedEvent) -> None:
        if events:
            self._redis.xack(self.stream, self.group, *(e.entry_id for e in events))

    def follow(self, block_ms: int = 1000) -> Iterator[ReceivedEvent]:
        """Yield events forever, acknowledging each after the caller has handled it."""
        while True:
            for event in self.read(block_ms=block_ms):
                yield event
                self.ack(event)
