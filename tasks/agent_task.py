"""`agent_task`: how every operation of the contract becomes a Celery task.

The wrapper validates the keyword arguments with the operation's request model (a clear error
naming the field, before anything on the host is touched), calls the plain function with the
model, turns our errors into the spec's builtin types, and returns JSON-ready data.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task, current_task, signals
from celery.exceptions import TaskPredicate
from pydantic import BaseModel

from contract.errors import AgentError, InvalidInput, as_spec_error
from contract.operations import Operation
from contract.redaction import contains_secret, mask_in_place
from contract.validation import parse
from worker.app import app
from worker.runtime import host

log = logging.getLogger(__name__)
LONG_WORK_MAX_BACKOFF = 5.0  # seconds a long task waits, at most, before it looks for a slot again


def to_json(value: Any) -> Any:
    """Models (also inside lists and dicts) as plain JSON data; everything else as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def spec_errors(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run `fn`, turning its errors into the spec's builtin types (Celery's own signals pass)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TaskPredicate:  # Ignore (from Task.replace), Retry, Reject: Celery's control flow
            raise
        except AgentError as exc:
            log.info("%s refused: %s", name, exc)
            raise as_spec_error(exc) from None
        except Exception as exc:
            log.exception("%s failed", name)
            raise as_spec_error(exc) from None

    return run


SECRET_KWARGS = "agent_secret_kwargs"  # where the request keeps its unmasked kwargs, in memory


@signals.task_prerun.connect  # type: ignore[untyped-decorator]  # celery has no type hints
def _mask_secrets_before_anything_is_stored(task: Task, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery stores a task's kwargs with its STARTED state and its result (`result_extended`), and
    shows them to `celery inspect`: mask every secret in them in place before any of that, keeping
    the real ones in the request for the task body alone."""
    if kwargs and task.name.startswith("agent.") and contains_secret(kwargs):
        setattr(task.request, SECRET_KWARGS, copy.deepcopy(kwargs))
        mask_in_place(kwargs)


def _real_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    kept = getattr(current_task.request, SECRET_KWARGS, None) if current_task else None
    return kept if isinstance(kept, dict) else kwargs


@contextmanager
def long_work_slot() -> Iterator[None]:
    """Hold one of the host's long-work slots for the block; with none free, the running task goes
    back to the queue for a moment (worker/capacity.py) instead of waiting in a thread."""
    work = host().long_work
    if not work.try_take():
        task = current_task
        retries = int(task.request.retries or 0)
        raise task.retry(kwargs=_real_kwargs(task.request.kwargs or {}),
                         countdown=min(LONG_WORK_MAX_BACKOFF, 0.1 * 2 ** min(retries, 6)) * random.uniform(0.8, 1.2))
    try:
        yield
    finally:
        work.release()


def agent_task(op: Operation, *, long: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Register `fn(request_model) -> result` as the Celery task of `op`, taking keyword arguments
    (`fn(task, request_model)` with `bind=True`); a `long` task holds a long-work slot while it runs."""
    name = op.name

    def decorate(fn: Callable[..., Any]) -> Task:
        bound = options.get("bind", False)

        def validated(*args: Any, **kwargs: Any) -> Any:
            head, rest = (args[:1], args[1:]) if bound else ((), args)
            if rest:
                raise InvalidInput(f"{name} takes keyword arguments only, got {len(rest)} positional")
            req = parse(op.request, _real_kwargs(kwargs), f"invalid input to {name}")
            with long_work_slot() if long else contextlib.nullcontext():
                return to_json(fn(*head, req))

        run = spec_errors(name, validated)
        run.__name__, run.__doc__ = fn.__name__, fn.__doc__
        run.__annotations__ = {}  # keep Celery's pydantic integration out of it
        if long:
            options.setdefault("max_retries", None)  # waiting for a long-work slot is no failure
        return app.task(name=name, **options)(run)

    return decorate
