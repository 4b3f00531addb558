"""`agentctl task show|retry`: a task as the result backend keeps it, and sending a failed one again
(the same code as `celery -A worker.app retry`: agent_client/retry.py)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from agent_client.client import AgentClient
from agent_client.retry import retry_task, stored_task


def cmd_show(c: AgentClient, a: argparse.Namespace) -> None:
    t = stored_task(c.app, a.task_id)
    text = f"{t.task_id}  {t.state}  {t.name or '-'}  queue {t.queue or '-'}  kwargs {t.kwargs}"
    a.out.result(asdict(t), text)


def cmd_retry(c: AgentClient, a: argparse.Namespace) -> None:
    new = retry_task(c.app, a.task_id, expires=a.expires)
    a.out.result({"task_id": a.task_id, "new_task_id": new.id}, new.id)


def add_task_commands(sub: Any) -> None:
    task = sub.add_parser("task", help="tasks in the result backend: show one, send a failed one again")
    cmds = task.add_subparsers(dest="task_command", required=True)
    show = cmds.add_parser("show", help="state, name, queue and (secrets masked) arguments of a task")
    show.add_argument("task_id")
    show.set_defaults(handler=cmd_show)
    retry = cmds.add_parser("retry", help="send a failed task again as it was, to the same host; prints the new id")
    retry.add_argument("task_id")
    retry.set_defaults(handler=cmd_retry)
