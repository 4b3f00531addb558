"""The creation pipeline as the agent describes it (`agent.describe_pipeline`): its stages with what
each requires, provides and waits for, and the plugins that added stages (or failed to)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class StageInfo(BaseModel):
    name: str
    step: Literal["provision", "start"]
    requires: list[str]
    provides: list[str]
    after: list[str]  # the stages it waits for
    origin: str  # "builtin", or the entry point of the plugin that added it


class PluginInfo(BaseModel):
    entry_point: str  # `name = module:attr` in the `kernel_agent.stages` group
    stages: list[str] = []
    error: str | None = None  # why it was skipped


class PipelineGraph(BaseModel):
    stages: list[StageInfo]
    plugins: list[PluginInfo] = []
