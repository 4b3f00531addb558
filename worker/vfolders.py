"""Where a kernel's virtual folders may come from: directories below the configured `vfolder_roots`,
reached from the root without following a link, given to Docker as the real path that was checked.

Residual race (docs/security.md): between this check and Docker's mount, whoever can write a
directory on the path could swap a component for a link; keep everything from a root down to the
directories managers name writable by root only.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from contract.errors import AgentError

WALK_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class VFolderRefused(AgentError, ValueError):
    """A vfolder host path outside the configured roots, or not reached without links."""


def _plain_parts(host_path: str) -> list[str]:
    if not host_path.startswith("/"):
        raise VFolderRefused(f"{host_path!r} is not an absolute path")
    parts = host_path.rstrip("/").split("/")[1:]
    if any(p in ("", ".", "..") for p in parts):
        raise VFolderRefused(f"{host_path!r} has an empty, '.' or '..' component")
    return parts


def _below(parts: list[str], root: Path) -> list[str] | None:
    """The components of `parts` below `root`, None when `parts` is not below it."""
    root_parts = list(root.parts[1:])
    n = len(root_parts)
    return parts[n:] if parts[:n] == root_parts and len(parts) > n else None


def _open_at(dir_fd: int | None, path: Path, shown: Path, host_path: str) -> int:
    try:
        return os.open(path, WALK_FLAGS, dir_fd=dir_fd)
    except OSError as e:
        why = "is a symbolic link" if e.errno in (errno.ENOTDIR, errno.ELOOP) and shown.is_symlink() \
            else "is not a directory" if e.errno == errno.ENOTDIR else f"cannot be opened ({e.strerror})"
        raise VFolderRefused(f"{host_path!r}: {shown} {why}") from None


def _walk(root: Path, rel: list[str], host_path: str) -> Path:
    fd = _open_at(None, root, root, host_path)
    try:
        for i, name in enumerate(rel):
            nfd = _open_at(fd, Path(name), root.joinpath(*rel[:i + 1]), host_path)
            os.close(fd)
            fd = nfd
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    finally:
        os.close(fd)


def resolve_host_path(host_path: str, roots: Sequence[Path]) -> Path:
    """The real path of directory `host_path` strictly below one of `roots`; VFolderRefused (a
    ValueError) saying why otherwise. A root may itself be a link (the administrator's); nothing
    below it may."""
    if not roots:
        raise VFolderRefused("no vfolder roots are configured (setting vfolder_roots): host paths are refused")
    parts = _plain_parts(host_path)
    for root in roots:
        real_root = Path(os.path.realpath(root))
        rel = _below(parts, Path(os.path.abspath(root))) or _below(parts, real_root)
        if rel is not None:
            return _walk(real_root, rel, host_path)
    raise VFolderRefused(f"{host_path!r} is not below a configured vfolder root "
                         f"({', '.join(str(r) for r in roots)})")
