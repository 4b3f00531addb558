"""Manager-side calls of the images area that need more than `AgentClient.call`: a push validated
before it is sent, and following a pull's progress events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from celery.result import AsyncResult

from agent_client.client import AgentClient
from agent_client.events import ReceivedEvent, StreamCursor
from contract.images import PushImageReq

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


def pull_events(cursor: StreamCursor, agent_id: str, image: str, deadline: float) -> Iterator[ReceivedEvent]:
    """This agent's image_pull_* events for `image` after the cursor, until the pull's finished or
    failed event or `deadline` (time.monotonic)."""
    for event in cursor.follow(deadline):
        if event.source != agent_id or event.payload.get("image") != image:
            continue
        yield event
        if event.name in PULL_END_EVENTS:
            return
