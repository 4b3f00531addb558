"""The shared context that carries a kernel's creation between stages and chain steps.

It is JSON (it travels in Celery messages and is saved in the kernel's registry record after every
stage), so a crash at any point leaves a record of exactly what to tear down. Inputs are the
request's; every stage's output is kept in `resources` under the stage's name and read back,
typed, with `output(StageClass)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel

from contract.kernels import ClusterInfo, KernelCreationConfig
from worker.pipeline.stage import STAGE_CLASSES
from worker.scratch_layout import ScratchLayout

if TYPE_CHECKING:
    from worker.pipeline.stage import Stage

R = TypeVar("R", bound=BaseModel)


class KernelContext(ScratchLayout, BaseModel):
    kernel_id: str
    session_id: str
    kernel_config: KernelCreationConfig
    cluster_info: ClusterInfo
    agent_id: str
    result_id: str | None = None  # the caller's result, failed by recovery if the worker dies
    scratch_dir: Path
    ipc_dir: Path
    uid: int
    gid: int
    supplementary_gids: list[int] = []
    internal_data: dict[str, Any] = {}
    # bookkeeping: stages done (in order of completion), their outputs and their seconds
    done: list[str] = []
    resources: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}

    def output(self, stage: type[Stage[Any, R]]) -> R:
        """What `stage` recorded for this kernel; KeyError when it has not run."""
        raw = self.resources.get(stage.name)
        if raw is None or stage.name not in self.done:
            raise KeyError(f"stage {stage.name} has not run for kernel {self.kernel_id}")
        return cast(R, stage.resource_type.model_validate(raw))

    def find_output(self, stage: type[Stage[Any, R]]) -> R | None:
        """What `stage` recorded, or None when it has not run."""
        return self.output(stage) if stage.name in self.done else None

    def outputs_of(self, kind: type[R]) -> list[R]:
        """Every recorded output of type `kind` (several stages contribute mounts, for one), in
        the order the stages finished."""
        found = []
        for name in self.done:
            cls = STAGE_CLASSES.get(name)
            if cls is not None and issubclass(cls.resource_type, kind):
                found.append(cls.resource_type.model_validate(self.resources.get(name, {})))
        return found

    def record(self, name: str, resource: BaseModel, seconds: float) -> None:
        """Note that stage `name` is done with `resource`."""
        self.resources[name] = resource.model_dump(mode="json")
        self.timings[name] = round(seconds, 4)
        if name not in self.done:
            self.done.append(name)

    def forget(self, name: str) -> None:
        """Note that stage `name` was torn down."""
        if name in self.done:
            self.done.remove(name)
        self.resources.pop(name, None)
