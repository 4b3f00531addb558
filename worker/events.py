"""Publishes domain events: XADD to the durable stream, PUBLISH for live listeners."""

from __future__ import annotations

import json
import logging

import redis

from contract.events import AgentEvent

log = logging.getLogger(__name__)


class EventProducer:
    """Writes events to `stream` (approximately capped at `maxlen`) and publishes them on a channel
    of the same name. Fields: `name`, `source` (the agent id), `payload` (JSON)."""

    def __init__(self, client: redis.Redis, source: str, stream: str = "events", maxlen: int = 10_000):
        self._redis = client
        self.source = source
        self.stream = stream
        self.maxlen = maxlen

    def produce(self, event: AgentEvent) -> str:
        """Send one event; returns its stream entry id."""
        fields = {"name": event.name, "source": self.source, "payload": event.model_dump_json()}
        pipe = self._redis.pipeline(transaction=False)
        pipe.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        live = json.dumps({"name": event.name, "source": self.source,
                           "payload": event.model_dump(mode="json")})
        pipe.publish(self.stream, live)
        entry_id, _ = pipe.execute()
        log.debug("event %s %s", event.name, fields["payload"])
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def produce_all(self, events: list[AgentEvent]) -> None:
        """Send several events in one round trip, in order."""
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            payload = event.model_dump(mode="json")
            pipe.xadd(self.stream, {"name": event.name, "source": self.source,
                                    "payload": json.dumps(payload)}, maxlen=self.maxlen, approximate=True)
            pipe.publish(self.stream, json.dumps({"name": event.name, "source": self.source, "payload": payload}))
        pipe.execute()

    def close(self) -> None:
        self._redis.close()
