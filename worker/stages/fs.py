"""Filesystem helpers shared by the stages that write into a kernel's scratch directory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def chown_paths_if_root(paths: Iterable[Path], uid: int, gid: int) -> None:
    """Give `paths` to the kernel's user (only root can, and only root needs to)."""
    if os.geteuid() != 0:
        return
    for p in paths:
        os.chown(p, uid, gid, follow_symlinks=False)


def ensure_directory_exists(path: Path, mode: int = 0o755, uid: int | None = None, gid: int | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    path.chmod(mode)
    if uid is not None and gid is not None:
        chown_paths_if_root([path], uid, gid)
    return path


def write_file_with_permissions(path: Path, data: str | bytes, mode: int = 0o644,
                                uid: int | None = None, gid: int | None = None) -> Path:
    """Write `data` to `path` (never through a symlink) with `mode`, owned by uid:gid if given."""
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, raw)
        os.fchmod(fd, mode)
        if uid is not None and gid is not None and os.geteuid() == 0:
            os.fchown(fd, uid, gid)
    finally:
        os.close(fd)
    return path
