"""A sandbox for file-operation unit tests: a work directory with secrets beside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Sandbox:
    root: Path
    work: Path
    outside: Path

    def snapshot_outside(self) -> dict[str, tuple[int, bytes | None]]:
        """Every path under the sandbox but outside work/, with its mode and file content."""
        seen: dict[str, tuple[int, bytes | None]] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                p = Path(dirpath, name)
                if p == self.work or self.work in p.parents:
                    continue
                st = p.lstat()
                content = p.read_bytes() if p.is_file() and not p.is_symlink() else None
                seen[str(p)] = (st.st_mode, content)
        return seen

    def leftovers(self) -> list[str]:
        """Upload temp files anywhere below work/."""
        return [str(p) for p in self.work.rglob(".upload-*")]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    work = tmp_path / "scratch" / "work"
    work.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"host secret")
    (tmp_path / "scratch" / "attempt_outside.txt").write_bytes(b"original")
    return Sandbox(tmp_path, work, outside)
