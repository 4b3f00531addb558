"""Small stages for the pipeline framework's unit tests: each records what it does in a journal."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contract.kernels import ClusterInfo, KernelCreationConfig
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage, Step


class Made(BaseModel):
    what: str = ""


class Journal:
    """What the stages did, in order, from any thread."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.spans: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def note(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)


def fake_stage(name: str, *, requires: tuple[str, ...] = (), provides: tuple[str, ...] = (), step: Step = "provision",
               seconds: float = 0.0, fails: bool = False, journal: Journal) -> Stage[Any, Made]:
    """A stage that sleeps `seconds`, then fails or records `made <name>`; teardown notes `undone`."""

    class Fake(Stage[str, Made]):
        resource_type = Made

        def spec(self, ctx: KernelContext) -> str:
            return self.name

        def setup(self, spec: str) -> Made:
            started = time.perf_counter()
            time.sleep(seconds)
            journal.spans[spec] = (started, time.perf_counter())
            if fails:
                journal.note(f"failed {spec}")
                raise OSError(f"{spec} failed (injected)")
            journal.note(f"made {spec}")
            return Made(what=spec)

        def teardown(self, resource: Made) -> None:
            journal.note(f"undone {resource.what}")

    Fake.name, Fake.requires, Fake.provides, Fake.step = name, requires, provides, step
    Fake.__qualname__ = f"Fake[{name}]"
    return Fake()


def context() -> KernelContext:
    kernel_id = str(uuid.uuid4())
    config = KernelCreationConfig.model_validate({"image": {"canonical": "x:1"}, "resource_slots": {"cpu": 1}})
    return KernelContext(kernel_id=kernel_id, session_id=str(uuid.uuid4()), kernel_config=config,
                         cluster_info=ClusterInfo(), agent_id="test-unit", scratch_dir=Path("/nonexistent"),
                         ipc_dir=Path("/nonexistent"), uid=1000, gid=1000)
