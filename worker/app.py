"""The Celery app of the agent: `celery -A worker.app worker|call|inspect|flower` use it.

Its default queue is this host's queue, so anything the worker itself enqueues (the steps of a
kernel-creation chain, a background pull) stays on this host without naming the queue each time.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import worker_init
from celery.worker.request import Request

from contract.redaction import SECRET_KEYS, redacted, redacted_repr
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


class AgentRequest(Request):  # type: ignore[misc]
    """A task message as the worker holds it, its secrets masked wherever the worker shows it
    (Flower's task-received event, `celery inspect active|reserved`), whatever the sender did."""

    @property
    def kwargsrepr(self) -> str:
        text = str(self._kwargsrepr or "")
        return redacted_repr(self._kwargs) if any(k in text for k in SECRET_KEYS) else text

    def info(self, safe: bool = False) -> dict[str, Any]:
        info: dict[str, Any] = super().info(safe)
        info["kwargs"] = self.kwargsrepr if safe else redacted(info["kwargs"])
        return info


class AgentTask(Task):  # type: ignore[misc]
    """Base of the agent's tasks. Results are users' data (code output, file contents), so the
    worker's log lines and Flower's task events show only their first bytes."""

    Request = AgentRequest
    resultrepr_maxsize = 120


app = Celery("agent", include=TASK_MODULES, task_cls=AgentTask)
app.config_from_object("celeryconfig")
# Broker and results on the agent's Redis (plain or Sentinel), through the process's shared pool.
app.conf.update(app_redis_settings(_settings.redis_url, _settings.worker_name, app.conf.broker_transport_options,
                                   app.conf.result_backend_transport_options))
app.conf.task_default_queue = _settings.queue
app.conf.task_default_exchange = _settings.queue
app.conf.task_default_routing_key = _settings.queue
app.conf.worker_concurrency = _settings.concurrency


@worker_init.connect(weak=False)  # type: ignore[untyped-decorator]  # celery has no type hints
def _as_the_agents_worker(sender: Any, **kwargs: Any) -> None:
    """Plain `celery -A worker.app worker -n agent@ID -Q agent.ID` runs the agent's worker: the pool
    (celeryconfig) and concurrency above, and no gossip or mingle (each host works alone; Celery has
    no setting for them, only --without-* options, which land in these options before the consumer
    is built). Nor does the worker send `task-sent` for what it enqueues itself (a creation's
    steps): its `task-received` follows at once, and a late `task-sent` would rename the creation's
    last step in Flower. Its BRPOP waits WORKER_POLLING_INTERVAL (celeryconfig) per round."""
    if sender.app is app:
        sender.options.update(without_gossip=True, without_mingle=True)
        app.conf.broker_transport_options = {**app.conf.broker_transport_options,
                                             "polling_interval": app.conf.WORKER_POLLING_INTERVAL}
        app.conf.task_send_sent_event = False

from worker.bootsteps import STEPS  # noqa: E402  (the steps use the app's modules)

for step in STEPS:
    app.steps["worker"].add(step)
