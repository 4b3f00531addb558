"""`celery -A worker.app retry TASK_ID`: a Celery subcommand (entry point `celery.commands`) that
sends a failed task again as it was and prints the new task's id (agent_client/retry.py)."""

from __future__ import annotations

from typing import Any

import click
from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options

from agent_client.retry import RetryRefused, retry_task
from contract.errors import AgentUnavailable


@click.command(cls=CeleryCommand)
@click.argument("task_id")
@click.option("--expires", cls=CeleryOption, type=float, default=600.0, show_default=True,
              help_group="Retry Options", help="Seconds after which the new task is dropped if no worker took it.")
@click.pass_context
@handle_preload_options  # type: ignore[untyped-decorator]  # celery has no type hints
def retry(ctx: Any, task_id: str, expires: float) -> None:
    """Send a failed task again, with its stored arguments, to the same host's queue; print its id.

    Refused for an operation that is not safe to repeat, for arguments that held a masked secret,
    for an internal step of a kernel creation, and for a task that has not failed."""
    try:
        new = retry_task(ctx.obj.app, task_id, expires=expires)
    except (RetryRefused, AgentUnavailable) as e:
        ctx.obj.error(f"retry refused: {e}")
        ctx.exit(1)
    ctx.obj.echo(new.id)
