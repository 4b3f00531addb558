"""Serialization on the wire, shared by the agent's Celery app and every client app: JSON only.

Broker write access must never mean code execution on a host that holds the Docker socket, so no
side ever accepts pickle.
"""

from __future__ import annotations

from typing import Any

JSON_ONLY: dict[str, Any] = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "result_accept_content": ["json"],
    "event_serializer": "json",
}
