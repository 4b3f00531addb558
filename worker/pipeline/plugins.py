"""Stages added by other packages, through the entry point group `kernel_agent.stages`.

An entry point names a Stage subclass (made with no arguments) or a callable returning a stage or
a list of stages. Each plugin is added only if the pipeline stays valid with it (its requirements
provided, no name taken, no cycle); a plugin that fails to import, to build or to fit is reported
with its error and skipped: it never stops the agent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from contract.pipeline import PluginInfo
from worker.pipeline.graph import AnyStage, Pipeline
from worker.pipeline.stage import Stage

log = logging.getLogger(__name__)

GROUP = "kernel_agent.stages"


def _stages_of(obj: Any) -> list[AnyStage]:
    made = obj() if callable(obj) else obj
    stages = list(made) if isinstance(made, list | tuple) else [made]
    for s in stages:
        if not isinstance(s, Stage):
            raise TypeError(f"{s!r} is not a Stage")
    return stages


def describe_entry_point(ep: EntryPoint) -> str:
    return f"{ep.name} = {ep.value}"


def with_plugins(builtin: Sequence[AnyStage],
                 found: Sequence[EntryPoint] | None = None) -> tuple[Pipeline, list[PluginInfo]]:
    """The pipeline of the built-in stages and every plugin that fits, and a report per plugin."""
    found = sorted(entry_points(group=GROUP), key=lambda e: e.name) if found is None else found
    stages = list(builtin)
    origins: dict[str, str] = {}
    pipeline = Pipeline(stages)
    reports = []
    for ep in found:
        name = describe_entry_point(ep)
        try:
            added = _stages_of(ep.load())
            candidate = Pipeline([*stages, *added], {**origins, **{s.name: name for s in added}})
        except Exception as e:
            log.error("stage plugin %s skipped: %s: %s", name, type(e).__name__, e)
            reports.append(PluginInfo(entry_point=name, error=f"{type(e).__name__}: {e}"))
            continue
        stages.extend(added)
        origins.update({s.name: name for s in added})
        pipeline = candidate
        reports.append(PluginInfo(entry_point=name, stages=[s.name for s in added]))
        log.info("stage plugin %s added stages %s", name, [s.name for s in added])
    return pipeline, reports
