"""What `celery -A worker.app worker` takes from the app itself, so Celery's own command runs the
agent's worker: `celery -A worker.app worker -n agent@ID -Q agent.ID` gets the threads pool (the
work is I/O-bound), `AgentSettings.concurrency` threads, and neither gossip nor mingle (each host
works alone: both would only add broadcast traffic on the shared Redis). Options given on the
command line still win for the pool and the concurrency.

A worker also sends no `task-sent` event for the tasks it publishes itself (a creation's chain
steps, background pulls): the same worker's `task-received` follows at once, and a `task-sent`
racing it would rename, in Flower, the creation's last step (shown as `agent.create_kernels`).
Managers' clients still send theirs.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init


def apply_worker_defaults(app: Celery, concurrency: int) -> None:
    app.conf.worker_pool = "threads"
    app.conf.worker_concurrency = concurrency

    def in_the_worker(sender: Any, **kwargs: Any) -> None:
        if sender.app is not app:
            return
        # Celery has no setting for these, only the --without-* options, which end up in the
        # worker's options before its consumer is built (right after this signal).
        sender.options.update(without_gossip=True, without_mingle=True)
        app.conf.task_send_sent_event = False

    worker_init.connect(in_the_worker, weak=False)
