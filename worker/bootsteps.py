"""The worker's bootsteps: per-host machinery started once in the worker's main process, each step
one job, in a declared order (Celery's `requires`); Celery stops them in reverse.

    HostStep        the Host (connections, state); on the way out: SIGTERM destroys the kernels,
                    agent_terminated, connections closed
    MetricsStep     the Prometheus endpoint, when `metrics_port` is set
    RecoveryStep    what a previous run left: destroys and restarts it cut, half-made creations
    WatcherStep     the Docker events watcher (before the first reconcile pass: no death is missed)
    ReconcilerStep  one pass with no grace (re-attaches running kernels), then one every interval
    ModelMonitorStep the health monitor of inference kernels' model services
    LivenessStep    the liveness key managers check, agent_started, the heartbeat

This module and worker/app.py are the only Celery in worker/: the logic they start takes plain
callbacks.
"""

from __future__ import annotations

import logging
import platform
import threading
from typing import Any

import redis
from celery import bootsteps, signals

from contract.events import AgentHeartbeat, AgentStarted, AgentTerminated
from contract.naming import LIVENESS_REFRESH_S
from worker import liveness
from worker.host import Host
from worker.kernels.reconcile import PeriodicReconciler
from worker.kernels.records import watch_models
from worker.kernels.recovery import recover_interrupted_creations
from worker.kernels.resume import finish_interrupted_lifecycle, resume_kernels
from worker.kernels.watcher import DockerEventWatcher
from worker.metrics import MetricsServer
from worker.runtime import close_host, host
from worker.shutdown import shutdown_kernels
from worker.state.kernels import KernelState

log = logging.getLogger(__name__)

_received_signal: list[str] = []
_signal_lock = threading.Lock()


@signals.worker_shutting_down.connect  # type: ignore[untyped-decorator]  # celery has no type hints
def _remember_signal(sig: str = "", **_: Any) -> None:
    """Celery's shutdown handler names the signal the worker process got ('SIGTERM', 'SIGINT', ...)."""
    with _signal_lock:
        if not _received_signal:
            _received_signal.append(sig)


# Celery's own worker-heartbeat event, which only Flower reads (it shows a worker offline after two
# intervals without one): every 10 s instead of Celery's 2 s. Managers use the liveness key.
CELERY_HEARTBEAT_S = 10.0


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _celery_heartbeat_interval(sender: Any = None, **_: Any) -> None:
    """The worker's options, before its consumer is built: a `--heartbeat-interval` given wins."""
    if sender is not None and sender.options.get("heartbeat_interval") is None:
        sender.options["heartbeat_interval"] = CELERY_HEARTBEAT_S


def received_signal() -> str | None:
    with _signal_lock:
        return _received_signal[0] if _received_signal else None


class HostStep(bootsteps.StartStopStep):  # type: ignore[misc]  # celery has no type hints
    """Opens the Host and its directories; closes it last, after SIGTERM's destroys."""

    def start(self, worker: Any) -> None:
        h = host()
        for d in (h.settings.var_dir, h.settings.scratch_dir, h.settings.ipc_dir):
            d.mkdir(parents=True, exist_ok=True)
        for p in h.plugins:
            log.info("stage plugin %s: %s", p.entry_point, f"skipped ({p.error})" if p.error else p.stages)

    def stop(self, worker: Any) -> None:
        if received_signal() is not None:
            # A stop someone asked for is a clean exit, whatever the signal (Celery's own handlers
            # exit 1 on SIGINT and SIGQUIT); a crash keeps Celery's non-zero status, so whatever
            # runs the agent restarts it.
            worker.exitcode = 0
        h = host()
        try:
            try:
                shutdown_kernels(h, received_signal())
            except Exception:
                log.exception("destroying kernels at shutdown failed")
            h.events.produce(AgentTerminated(reason="shutdown"))
        finally:
            close_host()


class MetricsStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Serves the agent's Prometheus metrics on `metrics_port` (nothing when it is not set)."""

    requires = (HostStep,)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._server: MetricsServer | None = None

    def start(self, worker: Any) -> None:
        s = host().settings
        if s.metrics_port is not None:
            self._server = MetricsServer(host().metrics, s.metrics_port, s.metrics_address)
            log.info("metrics on http://%s:%d/metrics", s.metrics_address, self._server.port)

    def stop(self, worker: Any) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class RecoveryStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Finishes what a previous run of this agent left half-done."""

    requires = (HostStep,)

    def start(self, worker: Any) -> None:
        backend = worker.app.backend
        finish_interrupted_lifecycle(host())
        recover_interrupted_creations(
            host(), lambda task_id, msg: backend.mark_as_failure(task_id, RuntimeError(msg)))


class WatcherStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Cleans a kernel as soon as Docker says its container died."""

    requires = (RecoveryStep,)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._watcher: DockerEventWatcher | None = None

    def start(self, worker: Any) -> None:
        self._watcher = DockerEventWatcher(host().settings.id, host)
        self._watcher.start()

    def stop(self, worker: Any) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


class ReconcilerStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Re-attaches running kernels and cleans the rest, then keeps the registry true to Docker."""

    requires = (WatcherStep,)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._reconciler: PeriodicReconciler | None = None

    def start(self, worker: Any) -> None:
        s = host().settings
        resume_kernels(host())
        self._reconciler = PeriodicReconciler(host, s.reconcile_interval, s.reconcile_grace)
        self._reconciler.start()

    def stop(self, worker: Any) -> None:
        if self._reconciler is not None:
            self._reconciler.stop()
            self._reconciler = None


class ModelMonitorStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Watches the model services of inference kernels (those re-attached at start included)."""

    requires = (ReconcilerStep,)

    def start(self, worker: Any) -> None:
        h = host()
        h.models.start()
        for rec in h.registry.all():
            if rec.state is KernelState.RUNNING:
                watch_models(h, rec)

    def stop(self, worker: Any) -> None:
        host().models.stop()


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


class LivenessStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Says the agent is there: the liveness key, agent_started and the heartbeat; first to stop,
    so managers stop sending before the kernels go."""

    requires = (ModelMonitorStep, "celery.worker.components:Timer")

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._timers: list[Any] = []
        self._redis_failing = False

    def start(self, worker: Any) -> None:
        h = host()
        self._refresh_liveness()
        h.events.produce(AgentStarted())
        self._heartbeat()
        self._timers = [
            worker.timer.call_repeatedly(LIVENESS_REFRESH_S, self._refresh_liveness),
            worker.timer.call_repeatedly(h.settings.heartbeat_interval, self._heartbeat),
        ]
        log.info("agent %s consuming %s", h.settings.id, h.settings.queue)

    def stop(self, worker: Any) -> None:
        for t in self._timers:
            t.cancel()
        self._timers = []
        h = host()
        try:
            liveness.mark_gone(h.redis, h.settings.id)
        except redis.RedisError as exc:
            log.warning("could not remove the liveness key (%s); it expires by itself", exc)

    def _refresh_liveness(self) -> None:
        """On the worker's timer; while Redis does not answer, one warning and the next tick tries
        again (the key expires meanwhile: managers see the agent gone, as it is for them)."""
        h = host()
        try:
            liveness.mark_alive(h.redis, h.settings.id)
        except redis.RedisError as exc:
            if not self._redis_failing:
                log.warning("could not refresh the liveness key (%s); trying every %.0f s", exc, LIVENESS_REFRESH_S)
            self._redis_failing = True
            return
        if self._redis_failing:
            log.info("liveness key refreshed again")
        self._redis_failing = False

    @staticmethod
    def _heartbeat() -> None:
        h = host()
        try:
            h.events.produce(AgentHeartbeat(agent_info=agent_info(h)))
        except Exception:
            log.exception("heartbeat failed")


STEPS = (HostStep, MetricsStep, RecoveryStep, WatcherStep, ReconcilerStep, ModelMonitorStep, LivenessStep)
