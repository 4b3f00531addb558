"""The worker bootstep: per-host machinery started once in the worker's main process.

It installs the Host, finishes what a previous run left (worker/kernels/recovery.py, resume.py),
starts the Docker events watcher and the reconciler, announces the agent (agent_started), keeps the
liveness key and the heartbeat going on the worker's timer, and on the way out destroys the kernels
if the worker got SIGTERM (worker/shutdown.py) and says agent_terminated.
"""

from __future__ import annotations

import logging
import platform
from typing import Any

from celery import bootsteps

from contract.events import AgentHeartbeat, AgentStarted, AgentTerminated
from contract.naming import LIVENESS_REFRESH_S
from worker import liveness
from worker.host import Host, host
from worker.kernels.reconcile import PeriodicReconciler
from worker.kernels.recovery import recover_interrupted_creations
from worker.kernels.resume import finish_interrupted_lifecycle, resume_kernels
from worker.kernels.watcher import DockerEventWatcher
from worker.shutdown import received_signal, shutdown_kernels

log = logging.getLogger(__name__)


def agent_info(h: Host) -> dict[str, Any]:
    """What the heartbeat tells managers about this host."""
    s = h.settings
    return {
        "id": s.id,
        "region": s.region,
        "scaling_group": s.scaling_group,
        "queue": s.queue,
        "architecture": platform.machine(),
        "kernels": len(h.registry.ids()),
    }


class AgentStep(bootsteps.StartStopStep):  # type: ignore[misc]  # celery has no type hints
    """Runs once per host; see the module docstring."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._timers: list[Any] = []
        self._watcher: DockerEventWatcher | None = None
        self._reconciler: PeriodicReconciler | None = None

    def start(self, worker: Any) -> None:
        h = host()
        s = h.settings
        for d in (s.var_dir, s.scratch_dir, s.ipc_dir):
            d.mkdir(parents=True, exist_ok=True)
        backend = worker.app.backend
        finish_interrupted_lifecycle(h.kernels)
        recover_interrupted_creations(
            h.kernels, lambda task_id, msg: backend.mark_as_failure(task_id, RuntimeError(msg)))
        self._watcher = DockerEventWatcher(s.id, lambda: host().kernels)
        self._watcher.start()  # before the first pass: a death between the two is not missed
        resume_kernels(h.kernels)
        self._reconciler = PeriodicReconciler(lambda: host().kernels, s.reconcile_interval, s.reconcile_grace)
        self._reconciler.start()
        liveness.mark_alive(h.redis, s.id)
        h.events.produce(AgentStarted())
        self._heartbeat()
        self._timers = [
            worker.timer.call_repeatedly(LIVENESS_REFRESH_S, self._refresh_liveness),
            worker.timer.call_repeatedly(s.heartbeat_interval, self._heartbeat),
        ]
        log.info("agent %s consuming %s", s.id, s.queue)

    def stop(self, worker: Any) -> None:
        for t in self._timers:
            t.cancel()
        self._timers = []
        for part in (self._watcher, self._reconciler):
            if part is not None:
                part.stop()
        self._watcher = self._reconciler = None
        h = host()
        try:
            try:
                shutdown_kernels(h.kernels, h.db, received_signal())
            except Exception:
                log.exception("destroying kernels at shutdown failed")
            liveness.mark_gone(h.redis, h.settings.id)
            h.events.produce(AgentTerminated(reason="shutdown"))
        finally:
            h.close()

    @staticmethod
    def _refresh_liveness() -> None:
        h = host()
        try:
            liveness.mark_alive(h.redis, h.settings.id)
        except Exception:
            log.exception("could not refresh the liveness key")

    @staticmethod
    def _heartbeat() -> None:
        h = host()
        try:
            h.events.produce(AgentHeartbeat(agent_info=agent_info(h)))
        except Exception:
            log.exception("heartbeat failed")
