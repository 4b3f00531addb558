"""`Pipeline`: the stages of kernel creation as a graph, built from their declarations.

Stage B comes after stage A when B requires a fact A provides (a fact several stages provide,
like `mounts`, waits for all of them). Building checks the declarations: unique names, every
required fact provided by a stage of the same or an earlier chain step, no cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from contract.pipeline import StageInfo
from worker.pipeline.stage import STEPS, Stage, Step

AnyStage = Stage[Any, Any]
BUILTIN = "builtin"


class PipelineError(ValueError):
    """The stages' declarations do not make a pipeline (a missing fact, a cycle, a duplicate)."""


class Pipeline:
    def __init__(self, stages: Sequence[AnyStage], origins: dict[str, str] | None = None) -> None:
        names = [s.name for s in stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise PipelineError(f"stage names used twice: {duplicates}")
        self._origins = origins or {}
        providers: dict[str, list[AnyStage]] = {}
        for s in stages:
            if s.step not in STEPS:
                raise PipelineError(f"stage {s.name}: step {s.step!r} is not one of {STEPS}")
            for fact in s.provides:
                providers.setdefault(fact, []).append(s)
        self.after: dict[str, frozenset[str]] = {}
        for s in stages:
            waits: set[str] = set()
            for fact in s.requires:
                found = [p for p in providers.get(fact, []) if p is not s]
                if not found:
                    raise PipelineError(f"stage {s.name} requires {fact!r}, which no stage provides")
                late = [p.name for p in found if STEPS.index(p.step) > STEPS.index(s.step)]
                if late:
                    raise PipelineError(f"stage {s.name} ({s.step}) requires {fact!r} from later-step stages {late}")
                waits.update(p.name for p in found)
            self.after[s.name] = frozenset(waits)
        self._stages = self._ordered(stages)
        self._by_name = {s.name: s for s in self._stages}

    def _ordered(self, stages: Sequence[AnyStage]) -> list[AnyStage]:
        """Steps in chain order, each topologically sorted (ties keep the declared order)."""
        ordered: list[AnyStage] = []
        placed: set[str] = set()
        for step in STEPS:
            todo = [s for s in stages if s.step == step]
            while todo:
                ready = [s for s in todo if self.after[s.name] <= placed]
                if not ready:
                    raise PipelineError(f"the stages {[s.name for s in todo]} depend on each other in a cycle")
                ordered.extend(ready)
                placed.update(s.name for s in ready)
                todo = [s for s in todo if s.name not in placed]
        return ordered

    def stages(self, step: Step | None = None) -> list[AnyStage]:
        """The stages (of one step) in an order that respects every dependency."""
        return [s for s in self._stages if step is None or s.step == step]

    def get(self, name: str) -> AnyStage | None:
        return self._by_name.get(name)

    def origin(self, name: str) -> str:
        return self._origins.get(name, BUILTIN)

    def describe(self) -> list[StageInfo]:
        """Each stage as the contract describes it, in run order."""
        return [StageInfo(name=s.name, step=s.step, requires=list(s.requires), provides=list(s.provides),
                          after=sorted(self.after[s.name]), origin=self.origin(s.name)) for s in self._stages]

    def names(self, stages: Iterable[AnyStage] | None = None) -> list[str]:
        return [s.name for s in (self._stages if stages is None else stages)]
