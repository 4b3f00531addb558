"""A stage plugin for the agent's tests.

`MotdStage` writes /home/config/motd.txt (the kernel's config dir) once the scratch exists, and
removes it on teardown; it notes both in the file named by $STAGE_PLUGIN_JOURNAL, so a test sees
them happen. `UnfitStage` requires a fact no stage provides: the agent must skip it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage


def journal(line: str) -> None:
    path = os.environ.get("STAGE_PLUGIN_JOURNAL")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


@dataclass(frozen=True)
class MotdSpec:
    kernel_id: str
    config_dir: Path


class Motd(BaseModel):
    kernel_id: str = ""
    path: Path | None = None


class MotdStage(Stage[MotdSpec, Motd]):
    name = "motd"
    resource_type = Motd
    requires = ("scratch",)
    provides = ("config_files",)

    def spec(self, ctx: KernelContext) -> MotdSpec:
        return MotdSpec(ctx.kernel_id, ctx.config_dir)

    def setup(self, spec: MotdSpec) -> Motd:
        time.sleep(0.05)  # long enough to be seen in the timings
        path = spec.config_dir / "motd.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(f"welcome to kernel {spec.kernel_id}\n")
        journal(f"setup {spec.kernel_id}")
        return Motd(kernel_id=spec.kernel_id, path=path)

    def teardown(self, resource: Motd) -> None:
        if resource.path is not None:
            resource.path.unlink(missing_ok=True)
            journal(f"teardown {resource.kernel_id}")


class UnfitStage(Stage[None, Motd]):
    name = "unfit"
    resource_type = Motd
    requires = ("a_fact_nobody_provides",)

    def spec(self, ctx: KernelContext) -> None:
        return None

    def setup(self, spec: None) -> Motd:
        return Motd()
