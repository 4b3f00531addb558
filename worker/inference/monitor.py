"""The health monitor of inference kernels: one scheduler thread and a few check threads for the
whole host, whatever the number of kernels (none at all for a host without inference kernels).

Every `interval` of its health check, each model service of a RUNNING inference kernel is checked
by the kernel's runner, from inside the kernel. A check that passes makes it healthy; a service
that died, or `max_retries` failed checks in a row, make it unhealthy; each change is saved
(worker/state/model_states.py) and said with a `model_service_status` event. A service that died
is started again when its definition asks for it (`restart_on_failure`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from contract.errors import KernelStartFailed
from contract.events import ModelServiceStatus
from contract.inference import ModelConfig, ModelServiceState
from worker.events import EventProducer
from worker.inference import service
from worker.runner_client import RunnerClient
from worker.state.model_states import ModelStates

log = logging.getLogger(__name__)
CHECK_THREADS = 4


@dataclass
class Watched:
    kernel_id: str
    session_id: str
    model: ModelConfig
    runner: RunnerClient
    failures: int = 0


class ModelMonitor:
    """Watches the model services of inference kernels. `is_running(kernel_id)` says whether a
    kernel is (still) RUNNING: a kernel being restarted or destroyed is left alone."""

    def __init__(self, states: ModelStates, events: EventProducer, is_running: Callable[[str], bool]) -> None:
        self._states = states
        self._events = events
        self._is_running = is_running
        self._watched: dict[tuple[str, str], Watched] = {}
        self._queue: list[tuple[float, int, tuple[str, str]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._checks: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._checks = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="model-check")
        self._thread = threading.Thread(target=self._run, name="model-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)
        if self._checks is not None:
            self._checks.shutdown(wait=True, cancel_futures=True)

    def watch(self, kernel_id: str, session_id: str, models: list[ModelConfig], runner: RunnerClient) -> None:
        """Watch these services of the kernel (replacing what was watched of it): each healthy now,
        as its creation or restart just made sure."""
        self.unwatch(kernel_id, forget=False)
        now = time.time()
        known = {s.model_name: s for s in self._states.of(kernel_id)}
        added = []
        with self._cond:
            for m in models:
                if m.service is None or m.service.health_check is None:
                    continue
                key = (kernel_id, m.name)
                self._watched[key] = w = Watched(kernel_id, session_id, m, runner)
                heapq.heappush(self._queue, (time.monotonic() + m.service.health_check.interval,
                                             next(self._order), key))
                added.append(w)
            self._cond.notify_all()
        for w in added:
            if not (w.model.name in known and known[w.model.name].healthy):
                self._change(w, ModelServiceState(model_name=w.model.name, healthy=True, since=now))

    def unwatch(self, kernel_id: str, forget: bool = True) -> None:
        """Stop watching the kernel's services (it ended, or restarts); `forget` drops their states."""
        with self._cond:
            for key in [k for k in self._watched if k[0] == kernel_id]:
                del self._watched[key]
        if forget:
            self._states.forget(kernel_id)

    def states(self, kernel_id: str) -> list[ModelServiceState]:
        return self._states.of(kernel_id)

    def watched_count(self) -> int:
        with self._cond:
            return len(self._watched)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._cond.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
                if self._stopping:
                    return
                _, _, key = heapq.heappop(self._queue)
                w = self._watched.get(key)
            if w is not None and self._checks is not None:
                self._checks.submit(self._check, key, w)

    def _again(self, key: tuple[str, str], w: Watched) -> None:
        assert w.model.service is not None and w.model.service.health_check is not None
        with self._cond:
            if self._watched.get(key) is w:
                heapq.heappush(self._queue, (time.monotonic() + w.model.service.health_check.interval,
                                             next(self._order), key))
                self._cond.notify_all()

    def _check(self, key: tuple[str, str], w: Watched) -> None:
        try:
            if self._is_running(w.kernel_id):
                self._judge(w, service.check(w.runner, w.model))
        except Exception:
            log.exception("health check of model %s in kernel %s failed", w.model.name, w.kernel_id)
        finally:
            self._again(key, w)

    def _judge(self, w: Watched, result: service.CheckResult) -> None:
        assert w.model.service is not None and w.model.service.health_check is not None
        now = time.time()
        current = next((s for s in self._states.of(w.kernel_id) if s.model_name == w.model.name), None)
        if result.healthy:
            w.failures = 0
            if current is None or not current.healthy:
                self._change(w, ModelServiceState(model_name=w.model.name, healthy=True, since=now))
            return
        w.failures += 1
        failing = not result.alive or w.failures >= w.model.service.health_check.max_retries
        if failing and (current is None or current.healthy):
            self._change(w, ModelServiceState(model_name=w.model.name, healthy=False, since=now,
                                              last_error=result.error))
        if not result.alive and w.model.service.restart_on_failure:
            log.warning("model service %s of kernel %s died (%s): starting it again", w.model.name, w.kernel_id,
                        result.error)
            try:
                service.start(w.runner, w.model)
            except KernelStartFailed as e:
                log.error("%s", e)

    def _change(self, w: Watched, state: ModelServiceState) -> None:
        self._states.put(w.kernel_id, state)
        self._events.produce(ModelServiceStatus(kernel_id=w.kernel_id, session_id=w.session_id,
                                                model_name=state.model_name, healthy=state.healthy,
                                                since=state.since, last_error=state.last_error))
