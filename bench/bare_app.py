"""The baseline for bench/ping.py: a bare Celery app with the agent's celeryconfig and one echo task."""

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
