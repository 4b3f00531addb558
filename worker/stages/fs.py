"""Files the stages make for a kernel, on the host, as root.

Below a kernel's work dir everything is the kernel user's and may change under the agent, so
paths there are walked from an open directory fd, one component at a time with O_NOFOLLOW: a
link (to /etc, say) is never followed, by writes or by removals; a removal whose path no longer
leads where it did removes nothing. `ensure_directory_exists` is for the agent's own directories
only (the scratch and ipc dirs themselves, which no kernel can touch).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
AS_ROOT = os.geteuid() == 0
GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)  # a path that no longer leads anywhere safe


def chown_paths_if_root(paths: Iterable[Path], uid: int, gid: int) -> None:
    """Give the agent's own `paths` to the kernel's user (only root can, and only root needs to)."""
    if not AS_ROOT:
        return
    for p in paths:
        os.chown(p, uid, gid, follow_symlinks=False)


def ensure_directory_exists(path: Path, mode: int = 0o755, uid: int | None = None, gid: int | None = None) -> Path:
    """An agent-owned directory (never one below a kernel's work dir), with `mode` and owner."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    os.chmod(path, mode, follow_symlinks=False)
    if uid is not None and gid is not None:
        chown_paths_if_root([path], uid, gid)
    return path


@contextmanager
def dir_at(root: Path, rel: PurePosixPath, *, create: bool = False, mode: int = 0o755,
           uid: int | None = None, gid: int | None = None) -> Iterator[int]:
    """An fd of `root`/`rel`, reached without following any link (OSError if a part is one);
    with `create`, missing directories are made with `mode` and given to uid:gid."""
    fd = os.open(root, DIR_FLAGS)
    try:
        for part in rel.parts:
            if create:
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                    if AS_ROOT and uid is not None and gid is not None:
                        os.chown(part, uid, gid, dir_fd=fd, follow_symlinks=False)
                except FileExistsError:
                    pass
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _owned(fd: int, mode: int, uid: int | None, gid: int | None) -> None:
    os.fchmod(fd, mode)
    if AS_ROOT and uid is not None and gid is not None:
        os.fchown(fd, uid, gid)


def write_file(root: Path, rel: str | PurePosixPath, data: str | bytes, mode: int = 0o644,
               uid: int | None = None, gid: int | None = None, dir_mode: int = 0o755) -> str:
    """Write `data` to `root`/`rel` (missing parents made, owned by uid:gid); returns `rel`."""
    rel = PurePosixPath(rel)
    raw = data.encode() if isinstance(data, str) else data
    with dir_at(root, rel.parent, create=True, mode=dir_mode, uid=uid, gid=gid) as parent:
        fd = os.open(rel.name, WRITE_FLAGS, mode, dir_fd=parent)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            _owned(fd, mode, uid, gid)
        finally:
            os.close(fd)
    return str(rel)


def make_dir(root: Path, rel: str | PurePosixPath, mode: int = 0o755, uid: int | None = None,
             gid: int | None = None) -> str:
    """The directory `root`/`rel` (and its parents), with `mode`, owned by uid:gid; returns `rel`."""
    rel = PurePosixPath(rel)
    with dir_at(root, rel, create=True, mode=mode, uid=uid, gid=gid) as fd:
        _owned(fd, mode, uid, gid)
    return str(rel)


def remove_file(root: Path, rel: str | PurePosixPath) -> bool:
    """Remove the file `root`/`rel` if that path still leads to it without a link; False otherwise."""
    rel = PurePosixPath(rel)
    try:
        with dir_at(root, rel.parent) as parent:
            os.unlink(rel.name, dir_fd=parent)
    except OSError as e:
        if e.errno in GONE or e.errno == errno.EISDIR:
            return False
        raise
    return True
