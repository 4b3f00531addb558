"""The model monitor's judgement, with a stand-in runner: healthy on a passing check, unhealthy
after max_retries failed checks in a row or at once when the service died (then started again when
asked), one event per change, states kept across a new monitor (an agent restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.inference import ModelConfig
from worker.inference.monitor import ModelMonitor, Watched
from worker.inference.service import CheckResult
from worker.state.db import StateDB
from worker.state.model_states import ModelStates

KERNEL = "00000000-0000-0000-0000-000000000001"


class Events:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def produce(self, event: Any) -> str:
        self.sent.append(event)
        return "0-0"


class Runner:
    """Answers start-model-service; counts the starts."""

    def __init__(self) -> None:
        self.starts = 0

    def request(self, op: str, timeout: float = 10.0, **payload: Any) -> dict[str, Any]:
        assert op == "start-model-service"
        self.starts += 1
        return {"ok": True, "status": "started"}


def model(restart: bool = False) -> ModelConfig:
    return ModelConfig.model_validate({"name": "m", "model_path": "/home/work/m", "service": {
        "start_command": ["serve"], "port": 8000, "restart_on_failure": restart,
        "health_check": {"interval": 1, "max_retries": 3}}})


def monitor(tmp_path: Path) -> tuple[ModelMonitor, Events, ModelStates]:
    states, events = ModelStates(StateDB(tmp_path / "agent.db")), Events()
    return ModelMonitor(states, events, lambda kernel_id: True), events, states  # type: ignore[arg-type]


def health(events: Events) -> list[bool]:
    return [e.healthy for e in events.sent]


def test_failed_checks_make_it_unhealthy_only_after_max_retries_and_one_event_per_change(tmp_path: Path) -> None:
    mon, events, states = monitor(tmp_path)
    runner = Runner()
    mon.watch(KERNEL, "s", [model()], runner)  # type: ignore[arg-type]
    w = Watched(KERNEL, "s", model(), runner)  # type: ignore[arg-type]
    failing = CheckResult(alive=True, healthy=False, status=503, error="answered 503")
    for _ in range(2):
        mon._judge(w, failing)
    assert health(events) == [True]  # two failures: still healthy
    mon._judge(w, failing)
    mon._judge(w, failing)
    assert health(events) == [True, False] and events.sent[-1].last_error == "answered 503"
    mon._judge(w, CheckResult(alive=True, healthy=True, status=200))
    assert health(events) == [True, False, True]
    assert [s.healthy for s in states.of(KERNEL)] == [True]


def test_a_dead_service_is_unhealthy_at_once_and_started_again_when_asked(tmp_path: Path) -> None:
    mon, events, _ = monitor(tmp_path)
    runner = Runner()
    w = Watched(KERNEL, "s", model(restart=True), runner)  # type: ignore[arg-type]
    mon.watch(KERNEL, "s", [model(restart=True)], runner)  # type: ignore[arg-type]
    mon._judge(w, CheckResult(alive=False, healthy=False, exit_code=3, error="the service exited with code 3"))
    assert health(events) == [True, False] and runner.starts == 1


def test_a_new_monitor_reports_only_real_changes(tmp_path: Path) -> None:
    mon, events, states = monitor(tmp_path)
    mon.watch(KERNEL, "s", [model()], Runner())  # type: ignore[arg-type]
    again = ModelMonitor(states, events, lambda kernel_id: True)  # type: ignore[arg-type]
    again.watch(KERNEL, "s", [model()], Runner())  # type: ignore[arg-type]  # the agent restarted
    assert health(events) == [True]
    again.unwatch(KERNEL)
    assert states.of(KERNEL) == [] and again.watched_count() == 0
