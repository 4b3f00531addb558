"""The Celery app of the agent: `celery -A worker.app worker|call|inspect|flower` use it.

Its default queue is this host's queue, so anything the worker itself enqueues (the steps of a
kernel-creation chain, a background pull) stays on this host without naming the queue each time.
"""

from __future__ import annotations

from celery import Celery, Task

from worker.config import load_settings
from worker.shared_redis.settings import app_redis_settings

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


app = Celery("agent", include=TASK_MODULES, task_cls=AgentTask)
app.config_from_object("celeryconfig")
# Broker and results on the agent's Redis (plain or Sentinel), through the process's shared pool.
app.conf.update(app_redis_settings(_settings.redis_url, _settings.worker_name, app.conf.broker_transport_options,
                                   app.conf.result_backend_transport_options))
app.conf.task_default_queue = _settings.queue
app.conf.task_default_exchange = _settings.queue
app.conf.task_default_routing_key = _settings.queue

from worker.bootsteps import STEPS  # noqa: E402  (the steps use the app's modules)

for step in STEPS:
    app.steps["worker"].add(step)
