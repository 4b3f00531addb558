"""What `celery -A worker.app worker` takes from the app itself, so Celery's own command runs the
agent's worker: `celery -A worker.app worker -n agent@ID -Q agent.ID` gets the threads pool (the
work is I/O-bound), `AgentSettings.concurrency` threads, and neither gossip nor mingle (each host
works alone: both would only add broadcast traffic on the shared Redis). Options given on the
command line still win for the pool and the concurrency.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init


def apply_worker_defaults(app: Celery, concurrency: int) -> None:
    app.conf.worker_pool = "threads"
    app.conf.worker_concurrency = concurrency

    def without_gossip_and_mingle(sender: Any, **kwargs: Any) -> None:
        # Celery has no setting for these, only the --without-* options, which end up in the
        # worker's options before its consumer is built (right after this signal).
        if sender.app is app:
            sender.options.update(without_gossip=True, without_mingle=True)

    worker_init.connect(without_gossip_and_mingle, weak=False)
