"""Scratch: {scratch-root}/{kernel_id}/config and work, owned by the kernel's user."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.fs import ensure_directory_exists


@dataclass(frozen=True)
class ScratchSpec:
    root: Path
    uid: int
    gid: int


class ScratchDirs(BaseModel):
    root: Path | None = None

    @property
    def config(self) -> Path:
        assert self.root is not None
        return self.root / "config"

    @property
    def work(self) -> Path:
        assert self.root is not None
        return self.root / "work"


class ScratchStage(Stage[ScratchSpec, ScratchDirs]):
    name = "scratch"
    resource_type = ScratchDirs
    provides = ("scratch",)

    def spec(self, ctx: KernelContext) -> ScratchSpec:
        return ScratchSpec(ctx.scratch_dir, ctx.uid, ctx.gid)

    def setup(self, spec: ScratchSpec) -> ScratchDirs:
        dirs = ScratchDirs(root=spec.root)
        try:
            ensure_directory_exists(spec.root, 0o755)
            ensure_directory_exists(dirs.config, 0o755)  # read-only inside, agent-owned
            ensure_directory_exists(dirs.work, 0o755, spec.uid, spec.gid)
        except BaseException:
            self.teardown(dirs)
            raise
        return dirs

    def teardown(self, resource: ScratchDirs) -> None:
        if resource.root is not None:
            shutil.rmtree(resource.root, ignore_errors=True)

    def leftover(self, ctx: KernelContext) -> ScratchDirs:
        return ScratchDirs(root=ctx.scratch_dir)
