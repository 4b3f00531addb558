"""How hosts, queues, workers and per-host keys are named on the shared Redis."""

from __future__ import annotations

AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_EVENTS_STREAM = "events"

# The liveness key: set by the worker every LIVENESS_REFRESH_S, living LIVENESS_TTL_S (a crashed
# worker is seen gone within the TTL; a stopped one at once). 3 s keeps an idle agent at a third of
# a Redis command per second for it.
LIVENESS_REFRESH_S = 3.0
LIVENESS_TTL_S = 3 * LIVENESS_REFRESH_S


def queue_name(agent_id: str) -> str:
    """The host's own Celery queue (and its exchange and routing key)."""
    return f"agent.{agent_id}"


def worker_name(agent_id: str) -> str:
    """The Celery node name of the host's worker."""
    return f"agent@{agent_id}"


def output_key(task_id: str) -> str:
    """The Redis list a streamed `execute` task pushes its output to (see contract/stream.py)."""
    return f"agent-output:{task_id}"


def liveness_key(agent_id: str) -> str:
    """Present while the host's worker is alive: managers check it before sending."""
    return f"agent:{agent_id}:alive"
