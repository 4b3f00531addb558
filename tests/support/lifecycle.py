"""Helpers of the lifecycle tests: waiting for a kernel's events, making kernels in one call."""

from __future__ import annotations

import time
import uuid
from typing import Any

from agent_client.client import AgentClient
from agent_client.events import ReceivedEvent


def terminated_events(events: Any, kernel_id: str) -> list[ReceivedEvent]:
    return [e for e in events.named("kernel_terminated") if e.payload["kernel_id"] == kernel_id]


def wait_terminated(events: Any, kernel_id: str, timeout: float = 10.0) -> ReceivedEvent:
    """The kernel's kernel_terminated event, as soon as it is in the stream."""
    deadline = time.monotonic() + timeout
    while not (found := terminated_events(events, kernel_id)):
        assert time.monotonic() < deadline, f"no kernel_terminated for {kernel_id} within {timeout} s"
        time.sleep(0.02)
    return found[0]


def create_many(client: AgentClient, image: str, n: int, mem: str = "64m") -> tuple[str, list[str]]:
    """`n` small kernels of one session made by one create_kernels call; (session id, kernel ids)."""
    session_id, kernel_ids = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(n)]
    config = {"image": {"canonical": image, "is_local": True}, "resource_slots": {"cpu": 1, "mem": mem}}
    client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=kernel_ids,
                raw_configs=[config] * n, wait=600)
    return session_id, kernel_ids
