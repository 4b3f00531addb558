"""Waiting for a long task's result (push, commit) while showing how long it has run."""

from __future__ import annotations

import time
from typing import Any

from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult

from agent_client.cli.output import Output


def wait_with_progress(result: AsyncResult, out: Output, label: str, timeout: float) -> Any:
    """The task's result (its error raised), showing `label` and the seconds waited on stderr."""
    started = time.monotonic()
    deadline = started + timeout
    try:
        while True:
            out.progress(f"\r{label} ({time.monotonic() - started:.0f} s)", end="")
            try:
                return result.get(timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
            except ResultTimeout:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{label}: no result within {timeout:g} s (--timeout)") from None
    finally:
        out.progress("")
