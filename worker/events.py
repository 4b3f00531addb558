"""Publishes domain events: XADD to the durable stream, PUBLISH for live listeners.

Redis going away never stops the work that emits events (a kernel creation, a destroy): an event
that cannot be sent waits in a bounded backlog, in order, and a thread sends the backlog as soon as
Redis answers again; later events queue behind it, so the stream keeps each thread's order.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from typing import Any

import redis

from contract.events import AgentEvent

log = logging.getLogger(__name__)

# Seconds between the backlog's tries while Redis does not answer: from the first to the last.
RETRY_FIRST_S, RETRY_MAX_S = 0.2, 5.0


class EventProducer:
    """Writes events to `stream` (approximately capped at `maxlen`) and publishes them on a channel
    of the same name. Fields: `name`, `source` (the agent id), `payload` (JSON). Up to `backlog`
    events wait while Redis cannot be reached; beyond that, new ones are dropped (and logged)."""

    def __init__(self, client: redis.Redis, source: str, stream: str = "events", maxlen: int = 10_000,
                 backlog: int = 10_000):
        self._redis = client
        self.source = source
        self.stream = stream
        self.maxlen = maxlen
        self._backlog: deque[AgentEvent] = deque()
        self._deferred = threading.local()  # .events: this thread's deferred events
        self._backlog_max = backlog
        self._lock = threading.Lock()
        self._sender: threading.Thread | None = None
        self._closed = threading.Event()
        self.dropped = 0

    def produce(self, event: AgentEvent) -> str | None:
        """Send one event (after any deferred ones); its stream entry id, or None when it waits in
        the backlog."""
        ids = self._send_all([event])
        return ids[-1] if ids else None

    def produce_all(self, events: list[AgentEvent]) -> None:
        """Send several events in one round trip, in order (to the backlog, as `produce` does, while
        Redis is away)."""
        self._send_all(events)

    def defer(self, event: AgentEvent) -> None:
        """Send `event` with the next event this thread produces, or at its next `flush`: progress
        events (a creation's kernel_stage) without a round trip each, in their place in the
        thread's order."""
        if not hasattr(self._deferred, "events"):
            self._deferred.events = []
        self._deferred.events.append(event)

    def flush(self) -> None:
        """Send this thread's deferred events now."""
        self._send_all([])

    def _send_all(self, events: list[AgentEvent]) -> list[str]:
        """This thread's deferred events and `events`, in one round trip; their entry ids ([] when
        they wait in the backlog)."""
        deferred: list[AgentEvent] = getattr(self._deferred, "events", [])
        self._deferred.events = []
        events = [*deferred, *events]
        if not events:
            return []
        with self._lock:
            if self._backlog:
                for event in events:
                    self._hold(event)
                return []
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            self._queue(pipe, event)
        try:
            replies = pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            with self._lock:
                for event in events:
                    self._hold(event)
            log.warning("events: Redis unreachable (%s); events wait until it answers", exc)
            return []
        log.debug("events %s", [e.name for e in events])
        return [r.decode() if isinstance(r, bytes) else str(r) for r in replies[::2]]

    def pending(self) -> int:
        """Events waiting for Redis."""
        with self._lock:
            return len(self._backlog)

    def close(self, timeout: float = 5.0) -> None:
        """Give the backlog up to `timeout` seconds to reach Redis, then stop (what is left is lost)."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closed.set()
        if self.pending():
            log.error("events: %d events never reached Redis and are lost", self.pending())
        self._redis.close()

    def _queue(self, pipe: Any, event: AgentEvent) -> None:
        """XADD to the stream and PUBLISH on the channel, in `pipe`."""
        fields = {"name": event.name, "source": self.source, "payload": event.model_dump_json()}
        pipe.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        pipe.publish(self.stream, json.dumps({"name": event.name, "source": self.source,
                                              "payload": event.model_dump(mode="json")}))

    def _send(self, event: AgentEvent) -> str:
        pipe = self._redis.pipeline(transaction=False)
        self._queue(pipe, event)
        entry_id, _ = pipe.execute()
        log.debug("event %s", event.name)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def _hold(self, event: AgentEvent) -> None:
        """Queue `event` behind the backlog (the lock is held) and make sure a sender runs."""
        if len(self._backlog) >= self._backlog_max:
            self.dropped += 1
            log.error("events: backlog full (%d waiting for Redis); dropped %s", len(self._backlog), event.name)
            return
        self._backlog.append(event)
        if self._sender is None and not self._closed.is_set():
            self._sender = threading.Thread(target=self._send_backlog, name="events-backlog", daemon=True)
            self._sender.start()

    def _send_backlog(self) -> None:
        pause, sent = RETRY_FIRST_S, 0
        while not self._closed.is_set():
            with self._lock:
                if not self._backlog:
                    self._sender = None
                    break
                event = self._backlog[0]
            try:
                self._send(event)
            except (redis.ConnectionError, redis.TimeoutError):
                self._closed.wait(pause)
                pause = min(2 * pause, RETRY_MAX_S)
                continue
            with self._lock:
                self._backlog.popleft()
            sent, pause = sent + 1, RETRY_FIRST_S
        if sent:
            log.info("events: Redis answers again; %d waiting events sent", sent)
