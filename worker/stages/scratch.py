"""Scratch: {scratch-root}/{kernel_id}, a mount nosuid,nodev (of the configured kind and size:
worker/scratch_mounts.py) holding config/ and work/, the latter owned by the kernel's user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.scratch_mounts import mount_dir_scratch, mount_hostfile_scratch, remove_scratch
from worker.stages.fs import ensure_directory_exists

ScratchType = Literal["dir", "hostfile"]


@dataclass(frozen=True)
class ScratchSpec:
    root: Path
    uid: int
    gid: int
    kind: ScratchType
    size: int  # bytes, for a hostfile


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

    def __init__(self, kind: ScratchType = "dir", size: int = 0) -> None:
        self._kind = kind
        self._size = size

    def spec(self, ctx: KernelContext) -> ScratchSpec:
        return ScratchSpec(ctx.scratch_dir, ctx.uid, ctx.gid, self._kind, self._size)

    def setup(self, spec: ScratchSpec) -> ScratchDirs:
        dirs = ScratchDirs(root=spec.root)
        try:
            ensure_directory_exists(spec.root, 0o755)
            if spec.kind == "hostfile":
                mount_hostfile_scratch(spec.root, spec.size)
            else:
                mount_dir_scratch(spec.root)
            ensure_directory_exists(dirs.config, 0o755)  # read-only inside, agent-owned
            ensure_directory_exists(dirs.work, 0o755, spec.uid, spec.gid)
        except BaseException:
            self.teardown(dirs)
            raise
        return dirs

    def teardown(self, resource: ScratchDirs) -> None:
        if resource.root is not None:
            remove_scratch(resource.root)

    def leftover(self, ctx: KernelContext) -> ScratchDirs:
        return ScratchDirs(root=ctx.scratch_dir)
