"""Which stored tasks `celery retry` / `agentctl task retry` send again, and what they say otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from agent_client.retry import RetryRefused, StoredTask, agent_of, holds_masked_secret, retryable_operation
from contract import operations
from contract.redaction import MASK


def stored(name: str | None = "agent.ping", state: str = "FAILURE", kwargs: dict[str, Any] | None = None,
           args: list[Any] | None = None, queue: str | None = "agent.gpu-01") -> StoredTask:
    return StoredTask("t-1", state, name, args or [], {"msg": "x"} if kwargs is None else kwargs, queue)


@pytest.mark.parametrize("state", ["FAILURE", "REVOKED"])
def test_a_failed_or_dropped_safe_operation_is_sent_again(state: str) -> None:
    assert retryable_operation(stored(state=state)) is operations.PING


def test_every_operation_that_is_not_retry_safe_is_refused_by_name() -> None:
    unsafe = [op for op in operations.OPERATIONS.values() if not op.retry_safe]
    assert {op.name for op in unsafe} >= {"agent.execute", "agent.shutdown", "agent.interrupt_kernel"}
    for op in unsafe:
        with pytest.raises(RetryRefused, match=f"{op.name} is not safe to repeat"):
            retryable_operation(stored(op.name, kwargs={}))


@pytest.mark.parametrize("step", sorted(operations.INTERNAL_STEPS))
def test_internal_creation_steps_point_to_create_kernels(step: str) -> None:
    with pytest.raises(RetryRefused, match=r"internal step of a kernel creation.*send agent.create_kernels again"):
        retryable_operation(stored(step, kwargs={}))


def test_arguments_that_held_a_masked_secret_are_refused() -> None:
    kwargs = {"image_ref": {"name": "x"}, "registry_conf": {"name": "r", "url": "http://r", "password": MASK}}
    with pytest.raises(RetryRefused, match="held a secret, masked"):
        retryable_operation(stored("agent.push_image", kwargs=kwargs))


def test_masked_secrets_are_found_at_any_depth_and_only_when_masked() -> None:
    assert holds_masked_secret({"raw_configs": [{"image": {"registry": {"password": MASK}}}]})
    assert not holds_masked_secret({"raw_configs": [{"image": {"registry": {"password": None}}}]})
    assert not holds_masked_secret({"msg": MASK})  # not a secret's key


@pytest.mark.parametrize(("task", "message"), [
    (stored(state="PENDING", name=None, kwargs={}, queue=None), "no result for task t-1"),
    (stored(state="SUCCESS"), "agent.ping\\) is SUCCESS: only a FAILURE or a REVOKED"),
    (stored(state="STARTED"), "is STARTED"),
    (stored(name=None, kwargs={}), "without its name and arguments"),
    (stored(name="celery.chord_unlock", kwargs={}), "not an operation of the agent"),
    (stored(args=["x"]), "positional arguments"),
])
def test_tasks_that_cannot_be_sent_again_as_they_were_are_refused_saying_why(task: StoredTask, message: str) -> None:
    with pytest.raises(RetryRefused, match=message):
        retryable_operation(task)


def test_the_task_goes_back_to_the_agent_whose_queue_it_came_from() -> None:
    assert agent_of(stored(queue="agent.gpu-01")) == "gpu-01"
    for queue in (None, "celery", "agent."):
        with pytest.raises(RetryRefused, match="not sent to an agent's queue"):
            agent_of(stored(queue=queue))
