"""The Celery app of the agent: `celery -A worker.app worker|call|inspect|flower` use it.

Its default queue is this host's queue, so anything the worker itself enqueues (the steps of a
kernel-creation chain, a background pull) stays on this host without naming the queue each time.
"""

from __future__ import annotations

from celery import Celery, Task

from worker.config import load_settings
from worker.worker_defaults import apply_worker_defaults

TASK_MODULES = [
    "tasks.system",
    "tasks.networks",
    "tasks.kernels",
    "tasks.lifecycle",
    "tasks.execution",
    "tasks.files",
    "tasks.images",
]

_settings = load_settings()


class AgentTask(Task):  # type: ignore[misc]
    """Base of the agent's tasks. Results are users' data (code output, file contents), so the
    worker's log lines and Flower's task events show only their first bytes."""

    resultrepr_maxsize = 120


app = Celery("agent", broker=_settings.redis_url, backend=_settings.redis_url, include=TASK_MODULES,
             task_cls=AgentTask)
app.config_from_object("celeryconfig")
app.conf.task_default_queue = _settings.queue
app.conf.task_default_exchange = _settings.queue
app.conf.task_default_routing_key = _settings.queue
apply_worker_defaults(app, _settings.concurrency)

from worker.bootstep import AgentStep  # noqa: E402  (the step needs `app` to exist)

app.steps["worker"].add(AgentStep)
