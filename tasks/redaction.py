"""Keeping registry passwords out of what Celery shows and stores.

A task's kwargs appear in Flower and `celery events` (through `kwargsrepr`) and, with
`result_extended`, in the result backend (the kwargs themselves). Senders pass `kwargsrepr=` from
`redacted_repr`; the task blanks the secrets in its own request before its result is stored.
"""

from __future__ import annotations

from typing import Any

from celery import current_task

SECRET_KEYS = frozenset({"password"})
MASK = "********"


def redacted(value: Any) -> Any:
    """A copy of `value` with every secret (a `password` key, at any depth) masked."""
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_KEYS and v is not None else redacted(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    """Whether `value` has a secret (a non-empty `password` key) at any depth."""
    if isinstance(value, dict):
        return any((k in SECRET_KEYS and v is not None) or contains_secret(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_secret(v) for v in value)
    return False


def redacted_repr(kwargs: dict[str, Any]) -> str:
    return repr(redacted(kwargs))


def _mask_in_place(value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SECRET_KEYS and v is not None:
                value[k] = MASK
            else:
                _mask_in_place(v)
    elif isinstance(value, list):
        for v in value:
            _mask_in_place(v)


def redact_current_request() -> None:
    """Mask secrets in the running task's kwargs, which the result backend stores with the result.

    Celery stores the very objects the task was called with (nested dicts are shared), so masking
    them in place after validation keeps the password out of the backend."""
    request = current_task.request if current_task else None
    if request is not None and request.kwargs:
        _mask_in_place(request.kwargs)
