"""A manager-side helper that reads agent events from the stream through a consumer group."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True)
class ReceivedEvent:
    entry_id: str
    name: str
    source: str
    payload: dict[str, Any]


class EventConsumer:
    """Reads `stream` as member `consumer` of `group`; each event is acknowledged once handled."""

    def __init__(self, client: redis.Redis, group: str, consumer: str, stream: str = "events",
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


def read_all(client: redis.Redis, stream: str = "events") -> list[ReceivedEvent]:
    """Every event still in the stream, oldest first (for tests and `agentctl events tail`)."""
    return parse_entries(client.xrange(stream))
