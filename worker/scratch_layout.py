"""The layout of a kernel's scratch directory on the host, shared by every model that has one."""

from __future__ import annotations

from pathlib import Path


class ScratchLayout:
    """Mixin for models with a `scratch_dir` ({scratch-root}/{kernel_id})."""

    scratch_dir: Path

    @property
    def work_dir(self) -> Path:
        """Host side of the kernel's /home/work."""
        return self.scratch_dir / "work"

    @property
    def config_dir(self) -> Path:
        """Host side of the kernel's /home/config (read-only inside)."""
        return self.scratch_dir / "config"
