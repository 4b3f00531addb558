"""Sending a finished task again, as it was: its name, keyword arguments and host queue, read from
the result backend (the agents keep them with every result: `result_extended`).

`celery -A worker.app retry TASK_ID` (agent_client/celery_retry.py) and `agentctl task retry` use
this. It refuses, saying why, what cannot be sent again as it was: a task whose arguments held a
secret (masked before it was stored), an operation that is not safe to repeat (contract/operations.py
`retry_safe`: running users' code, interrupting, shutting down), an internal step of a kernel
creation, a task that has not failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from celery import Celery, states
from celery.result import AsyncResult

from agent_client.client import AgentClient
from contract import operations
from contract.naming import AGENT_ID_PATTERN, queue_name
from contract.redaction import MASK, SECRET_KEYS

# A failure, or a task dropped before it ran (expired, revoked): both may be sent again.
RETRYABLE_STATES = frozenset({states.FAILURE, states.REVOKED})


class RetryRefused(ValueError):
    """The task cannot be sent again as it was; the message says why and what to do instead."""


@dataclass(frozen=True)
class StoredTask:
    """What the result backend keeps of a task."""

    task_id: str
    state: str
    name: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str | None


def stored_task(app: Celery, task_id: str) -> StoredTask:
    meta = app.backend.get_task_meta(task_id)
    return StoredTask(task_id=task_id, state=str(meta.get("status")), name=meta.get("name"),
                      args=list(meta.get("args") or []), kwargs=dict(meta.get("kwargs") or {}),
                      queue=meta.get("queue"))


def holds_masked_secret(value: Any) -> bool:
    """Whether a secret in `value` (a secret key at any depth) was masked before it was stored."""
    if isinstance(value, dict):
        return any((k in SECRET_KEYS and v == MASK) or holds_masked_secret(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_masked_secret(v) for v in value)
    return False


def agent_of(task: StoredTask) -> str:
    """The agent id whose queue the task was sent to."""
    agent_id = (task.queue or "").removeprefix(queue_name(""))
    if not task.queue or queue_name(agent_id) != task.queue or not re.fullmatch(AGENT_ID_PATTERN, agent_id):
        raise RetryRefused(f"task {task.task_id} was not sent to an agent's queue (queue: {task.queue})")
    return agent_id


def retryable_operation(task: StoredTask) -> operations.Operation:
    """The operation to send again; RetryRefused, saying why, when the task may not be re-sent."""
    tid = task.task_id
    if task.state == states.PENDING:
        raise RetryRefused(f"no result for task {tid}: an unknown id, a task not started yet, or a result "
                           "expired (results are kept for a day)")
    if task.name is None:
        raise RetryRefused(f"task {tid} was stored without its name and arguments (result_extended is off)")
    if task.name in operations.INTERNAL_STEPS:
        raise RetryRefused(f"{task.name} is an internal step of a kernel creation and is not retried by hand; "
                           "its request is not kept once the steps run: send agent.create_kernels again "
                           "(agentctl kernel create)")
    if task.name not in operations.OPERATIONS:
        raise RetryRefused(f"task {tid} is {task.name}, not an operation of the agent")
    if task.state not in RETRYABLE_STATES:
        raise RetryRefused(f"task {tid} ({task.name}) is {task.state}: only a FAILURE or a REVOKED task is "
                           "sent again")
    op = operations.operation(task.name)
    if not op.retry_safe:
        raise RetryRefused(f"{task.name} is not safe to repeat (it would run users' code or act on whatever "
                           "runs now a second time): send a new request instead")
    if holds_masked_secret(task.kwargs):
        raise RetryRefused(f"the arguments of task {tid} ({task.name}) held a secret, masked before they were "
                           "stored: send the request again with the secret")
    if task.args:
        raise RetryRefused(f"task {tid} was sent with positional arguments; agent tasks take keyword arguments "
                           "only, so it would fail again")
    return op


def retry_task(app: Celery, task_id: str, *, expires: float = 600.0) -> AsyncResult:
    """Send task `task_id` again with its stored keyword arguments to the same host's queue (refused
    at once when that host has no live worker); returns the new task's result."""
    task = stored_task(app, task_id)
    op = retryable_operation(task)
    client = AgentClient(agent_of(task), str(app.conf.broker_url), app=app, expires=expires)
    try:
        return client.send(op.short_name, **task.kwargs)
    finally:
        client.close()
