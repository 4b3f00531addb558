"""CmdArg: the container's command, which runs the kernel runner with the image's own python3."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.image import ImagePullStage
from worker.stages.mounts import RUNNER_TARGET

RUNTIME_PATH_LABEL = "ai.backend.runtime-path"


@dataclass(frozen=True)
class CmdArgSpec:
    image_labels: dict[str, str]


class Command(BaseModel):
    command: list[str] = []


class CmdArgStage(Stage[CmdArgSpec, Command]):
    name = "cmdarg"
    resource_type = Command
    requires = ("image",)
    provides = ("command",)

    def spec(self, ctx: KernelContext) -> CmdArgSpec:
        return CmdArgSpec(ctx.output(ImagePullStage).labels)

    def setup(self, spec: CmdArgSpec) -> Command:
        python = spec.image_labels.get(RUNTIME_PATH_LABEL) or "python3"
        # -I: isolated mode, so nothing in the user's work dir or environment shadows the runner.
        return Command(command=[python, "-I", RUNNER_TARGET])
