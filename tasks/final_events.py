"""Celery task events for a hot-path task at the cost of one: its final event only.

A task with `send_events=False` sends none, yet its caller's `task-sent` makes Flower list it as
PENDING forever. With `FinalEventRequest` as its `Request` the worker sends only the event that
ends the task (succeeded, failed, revoked, ...), after the result is stored: Flower shows the call
as it ended, and the caller's round trip pays for no event (bench/results/execute.md).
"""

from __future__ import annotations

from typing import Any

from worker.app import AgentRequest

FINAL_EVENTS = frozenset({"task-succeeded", "task-failed", "task-revoked", "task-rejected", "task-retried"})


class FinalEventRequest(AgentRequest):
    """Sends a task's final event even though the task has `send_events=False` (no received or
    started events); otherwise the agent's own Request (secrets masked)."""

    def send_event(self, type: str, **fields: Any) -> None:
        if type in FINAL_EVENTS and self._eventer and self._eventer.enabled:
            self._eventer.send(type, uuid=self.id, **fields)
