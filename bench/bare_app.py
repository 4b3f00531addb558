"""The baselines of bench/ping.py and bench/execute.py: a bare Celery app with the agent's
celeryconfig, an echo task, and a no-op task with agent.execute's own task options."""

from __future__ import annotations

import os

from celery import Celery

url = os.environ["AGENT_REDIS_URL"]
app = Celery("bare", broker=url, backend=url)
app.config_from_object("celeryconfig")
app.conf.task_default_queue = "bare"


@app.task(name="bare.echo")
def echo(msg: str) -> str:
    return msg


@app.task(name="bare.execute_like", track_started=False, send_events=False, acks_late=False)
def execute_like(**kwargs: object) -> dict[str, object]:
    """What agent.execute costs Celery, without the agent: same options, a reply of the same shape."""
    return {"status": "finished", "console": [["stdout", "1\n"]], "exitCode": 0, "runId": "x", "options": None}
