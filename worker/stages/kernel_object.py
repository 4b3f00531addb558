"""KernelObject: the kernel's registry record, filled with everything the stages prepared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage

# Every fact a kernel's record carries: the record is made once all of them are there.
PREPARED_FACTS = ("image", "allocation", "environ", "mounts", "scratch", "network", "service_ports",
                  "config_files", "ssh_keys", "bootstrap_script", "dotfiles", "command", "runner_ipc")


@dataclass(frozen=True)
class KernelObjectSpec:
    ctx: KernelContext


class KernelObject(BaseModel):
    kernel_id: str = ""


class KernelObjectStage(Stage[KernelObjectSpec, KernelObject]):
    """Saves the record; the record's removal is the creation flow's last teardown step."""

    name = "kernel_object"
    resource_type = KernelObject
    requires = PREPARED_FACTS
    provides = ("kernel_object",)

    def __init__(self, save: Callable[[KernelContext], None]) -> None:
        self._save = save

    def spec(self, ctx: KernelContext) -> KernelObjectSpec:
        return KernelObjectSpec(ctx.model_copy(deep=True))

    def setup(self, spec: KernelObjectSpec) -> KernelObject:
        self._save(spec.ctx)
        return KernelObject(kernel_id=spec.ctx.kernel_id)
