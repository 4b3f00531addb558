"""Celery's task events as Flower receives them, captured while a test runs."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State, Task


class TaskEvents:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def of(self, task_id: str) -> list[dict[str, Any]]:
        return [e for e in list(self.seen) if e.get("uuid") == task_id]

    def types_of(self, task_id: str) -> list[str]:
        return [e["type"] for e in self.of(task_id)]

    def as_flower_sees(self, task_id: str) -> Task:
        """The task as Flower shows it: Celery's own event state fed with every event seen."""
        state = State()
        for e in list(self.seen):
            state.event(dict(e))
        return state.tasks[task_id]

    def wait_for(self, task_id: str, event_type: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.of(task_id) if e["type"] == event_type]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no {event_type} for {task_id}: {self.types_of(task_id)}"
            time.sleep(0.05)


@contextmanager
def capture_task_events(app: Celery) -> Iterator[TaskEvents]:
    """Every task event sent while the block runs (the receiver is consuming when the block starts)."""
    events = TaskEvents()
    ready = threading.Event()
    box: list[EventReceiver] = []

    class Receiver(EventReceiver):  # type: ignore[misc]
        def on_consume_ready(self, *args: Any, **kwargs: Any) -> None:
            super().on_consume_ready(*args, **kwargs)
            ready.set()

    def listen() -> None:
        with app.connection_for_read() as conn:
            recv = Receiver(conn, handlers={"*": events.seen.append}, app=app)
            box.append(recv)
            recv.capture(limit=None, timeout=None, wakeup=False)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10), "the event receiver did not start"
    # Redis subscribes only once the receiver polls: send a probe until one comes back.
    probe, deadline = f"probe-{uuid.uuid4().hex}", time.monotonic() + 10
    with app.events.default_dispatcher() as dispatcher:
        while not any(e.get("probe") == probe for e in events.seen):
            assert time.monotonic() < deadline, "the event receiver does not receive"
            dispatcher.send("test-probe", probe=probe)
            time.sleep(0.05)
    try:
        yield events
    finally:
        box[0].should_stop = True
        thread.join(10)
