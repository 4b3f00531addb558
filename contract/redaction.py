"""Secrets in task arguments: which keys hold one, and masking them in what is shown or stored.

A task's kwargs appear in Flower and `celery events` (through `kwargsrepr`) and, with
`result_extended`, in the result backend. Senders pass `kwargsrepr=redacted_repr(kwargs)`; the task
masks its own request in place before Celery stores anything of it.
"""

from __future__ import annotations

from typing import Any

# Keys whose values are secrets wherever they appear in a request: registry passwords, private
# keys (a cluster's or a user's SSH key), docker credentials handed to a kernel.
SECRET_KEYS = frozenset({"password", "private_key", "docker_credentials"})
MASK = "********"


def redacted(value: Any) -> Any:
    """A copy of `value` with every secret (a secret key, at any depth) masked."""
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_KEYS and v is not None else redacted(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    """Whether `value` holds a secret (a non-empty secret key) at any depth."""
    if isinstance(value, dict):
        return any((k in SECRET_KEYS and v is not None) or contains_secret(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_secret(v) for v in value)
    return False


def redacted_repr(kwargs: dict[str, Any]) -> str:
    return repr(redacted(kwargs))


def mask_in_place(value: Any) -> None:
    """Mask every secret inside `value` itself (nested dicts and lists are changed, not copied)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SECRET_KEYS and v is not None:
                value[k] = MASK
            else:
                mask_in_place(v)
    elif isinstance(value, list):
        for v in value:
            mask_in_place(v)
