"""Manager-side calls of the images area that need more than `AgentClient.call`: a push validated
before it is sent, and following a pull's progress events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
from celery.result import AsyncResult

from tasks.client import AgentClient
from tasks.contract import PushImageReq
from worker.events.consumer import ReceivedEvent, parse_entry

PULL_END_EVENTS = frozenset({"image_pull_finished", "image_pull_failed"})


def push_image(client: AgentClient, image_ref: dict[str, Any], registry_conf: dict[str, Any],
               timeout: float | None = None) -> AsyncResult:
    """Send push_image (validated here first, so a bad request fails before anything is sent)."""
    kwargs: dict[str, Any] = {"image_ref": image_ref, "registry_conf": registry_conf}
    if timeout is not None:
        kwargs["timeout"] = timeout
    PushImageReq.model_validate(kwargs)
    return client.send("push_image", **kwargs)


def check_and_pull(client: AgentClient, image_configs: dict[str, Any], timeout: float = 60) -> dict[str, str]:
    """Start (or join) the pulls of these images; {image: task id of its background pull}."""
    return dict(client.send("check_and_pull", image_configs=image_configs).get(timeout=timeout))


def pull_events(r: redis.Redis, stream: str, agent_id: str, image: str, since: str,
                deadline: float) -> Iterator[ReceivedEvent]:
    """This agent's image_pull_* events for `image` after stream entry `since`, until the pull's
    finished/failed event or `deadline` (time.monotonic)."""
    last = since
    while time.monotonic() < deadline:
        reply: Any = r.xread({stream: last}, block=500, count=100)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                event = parse_entry(entry_id, fields)
                if event.source != agent_id or event.payload.get("image") != image:
                    continue
                yield event
                if event.name in PULL_END_EVENTS:
                    return
