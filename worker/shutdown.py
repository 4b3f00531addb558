"""Agent shutdown (the spec's `shutdown(stop_signal)`), by task or by a signal to the worker.

SIGTERM destroys every kernel (reason agent-termination) and waits for it; any other signal leaves
the kernels running for the next start to re-attach. Either way the registry is already persisted
(it is the SQLite state database; a WAL checkpoint folds it into agent.db); the bootsteps say
agent_terminated and close the connections.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from contract.kernels import LifecycleReason
from worker.kernels.destroy import destroy_all

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)
DESTROYING_SIGNAL = "SIGTERM"


def destroys_kernels(stop_signal: str | None) -> bool:
    return stop_signal == DESTROYING_SIGNAL


def shutdown_kernels(h: Host, stop_signal: str | None) -> list[str]:
    """Destroy every kernel if `stop_signal` is SIGTERM; persist the registry; returns the ids destroyed."""
    destroyed = destroy_all(h, LifecycleReason.AGENT_TERMINATION) if destroys_kernels(stop_signal) else []
    h.db.read().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    kept = len(h.registry.ids())
    log.info("shutdown (%s): %d kernels destroyed, %d kept in the registry (agent.db)",
             stop_signal or "no signal", len(destroyed), kept)
    return destroyed
