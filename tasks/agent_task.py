"""`agent_task`: how every operation of the contract becomes a Celery task.

The wrapper validates the keyword arguments with the operation's request model (a clear error
naming the field, before anything on the host is touched), calls the plain function with the
model, turns our errors into the spec's builtin types, and returns JSON-ready data.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import Task, current_task
from celery.exceptions import TaskPredicate
from pydantic import BaseModel

from contract.errors import AgentError, InvalidInput, as_spec_error
from contract.operations import Operation
from contract.redaction import mask_in_place
from contract.validation import parse
from worker.app import app

log = logging.getLogger(__name__)


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


def redact_current_request() -> None:
    """Mask secrets in the running task's kwargs, which the result backend stores with the result.

    Celery stores the very objects the task was called with (nested dicts are shared), so masking
    them in place after validation keeps the secret out of the backend."""
    request = current_task.request if current_task else None
    if request is not None and request.kwargs:
        mask_in_place(request.kwargs)


def agent_task(op: Operation, **options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Register `fn(request_model) -> result` as the Celery task of `op`, taking keyword arguments
    (`fn(task, request_model)` with `bind=True`)."""
    name = op.name

    def decorate(fn: Callable[..., Any]) -> Task:
        bound = options.get("bind", False)

        def validated(*args: Any, **kwargs: Any) -> Any:
            head, rest = (args[:1], args[1:]) if bound else ((), args)
            if rest:
                raise InvalidInput(f"{name} takes keyword arguments only, got {len(rest)} positional")
            return to_json(fn(*head, parse(op.request, kwargs, f"invalid input to {name}")))

        run = spec_errors(name, validated)
        run.__name__, run.__doc__ = fn.__name__, fn.__doc__
        run.__annotations__ = {}  # keep Celery's pydantic integration out of it
        return app.task(name=name, **options)(run)

    return decorate
