"""Container paths of file operations: normalised, confined to /home/work, split into components."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from contract.errors import InvalidInput, OutsideWorkDir

WORK_ROOT = "/home/work"
# Deepest path (below /home/work) an operation walks or archives: each level holds a directory fd.
MAX_DEPTH = 128


@dataclass(frozen=True)
class WorkPath:
    """A path inside a kernel's /home/work: its normalised container path and its parts below the root."""

    container_path: str
    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        """The last component (`work` for /home/work itself), as docker's get_archive names it."""
        return posixpath.basename(self.container_path)

    def upto(self, n: int) -> str:
        """The container path of the first `n` parts."""
        return posixpath.join(WORK_ROOT, *self.parts[:n])


def outside(verb: str, detail: str) -> OutsideWorkDir:
    return OutsideWorkDir(f"You cannot {verb} files outside {WORK_ROOT} ({detail})")


def link_refused(verb: str, where: str) -> OutsideWorkDir:
    return outside(verb, f"{where} is a symbolic link, which is never followed")


def resolve(path: str, verb: str) -> WorkPath:
    """`path` (absolute, or relative to /home/work) as a WorkPath; OutsideWorkDir when it leaves it.

    `..` is resolved lexically here; symlinks are never followed later, so this is the whole story.
    """
    if "\x00" in path:
        raise InvalidInput(f"path {path!r} contains a NUL byte")
    norm = posixpath.normpath(posixpath.join(WORK_ROOT, path))
    if norm != WORK_ROOT and not norm.startswith(WORK_ROOT + "/"):
        raise outside(verb, f"{path} is {norm}")
    parts = tuple(norm[len(WORK_ROOT) + 1:].split("/")) if norm != WORK_ROOT else ()
    if len(parts) > MAX_DEPTH:
        raise InvalidInput(f"path {path!r} is nested deeper than {MAX_DEPTH} directories")
    return WorkPath(norm, parts)


def human_size(n: int) -> str:
    """`1 MiB`, `512 KiB` or `1000 bytes`: the configured limit as the spec's messages write it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"
