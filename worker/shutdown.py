"""Agent shutdown (the spec's `shutdown(stop_signal)`), by task or by a signal to the worker.

SIGTERM destroys every kernel (reason agent-termination) and waits for it; any other signal leaves
the kernels running for the next start to re-attach. Either way the registry is already persisted
(it is the SQLite state database; a WAL checkpoint folds it into agent.db), agent_terminated is
said and connections are closed by the bootstep's stop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals

from contract.kernels import LifecycleReason
from worker.kernels.destroy import destroy_all
from worker.kernels.services import KernelServices
from worker.state.db import StateDB

log = logging.getLogger(__name__)
DESTROYING_SIGNAL = "SIGTERM"

_received: dict[str, str] = {}
_lock = threading.Lock()


@signals.worker_shutting_down.connect  # type: ignore[untyped-decorator]  # celery has no type hints
def _remember_signal(sig: str = "", **_: Any) -> None:
    """Celery's shutdown handler names the signal the worker process got ('SIGTERM', 'SIGINT', ...)."""
    with _lock:
        _received.setdefault("signal", sig)


def received_signal() -> str | None:
    with _lock:
        return _received.get("signal")


def destroys_kernels(stop_signal: str | None) -> bool:
    return stop_signal == DESTROYING_SIGNAL


def shutdown_kernels(svc: KernelServices, db: StateDB, stop_signal: str | None) -> list[str]:
    """Destroy every kernel if `stop_signal` is SIGTERM; persist the registry; returns the ids destroyed."""
    destroyed = destroy_all(svc, LifecycleReason.AGENT_TERMINATION) if destroys_kernels(stop_signal) else []
    db.read().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kept = len(svc.registry.ids())
    log.info("shutdown (%s): %d kernels destroyed, %d kept in the registry (agent.db)",
             stop_signal or "no signal", len(destroyed), kept)
    return destroyed
