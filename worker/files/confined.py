"""`WorkDir`: a kernel's work directory held open by fd, and race-free lookups below it.

Each component is opened with openat(O_NOFOLLOW) relative to the fd of its parent: a symlink is
never followed (the lookup fails and is reported as an escape), a directory swapped for a link
between two steps makes the next open fail, and non-directories are first opened with O_PATH,
which neither blocks (FIFOs) nor has side effects (devices). A regular file is then reopened for
reading through its own O_PATH fd, so the file read is the inode that was checked.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from contract.errors import AgentError, FileOperationFailed, OutsideWorkDir
from worker.files.paths import WorkPath, link_refused, outside

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def open_dir_at(dir_fd: int, name: str) -> int:
    """The directory `name` below `dir_fd`; OSError (ENOTDIR for a link or a non-directory) otherwise."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def open_listable(path_fd: int) -> int:
    """A readable fd of the directory behind the O_PATH fd `path_fd`."""
    return os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=path_fd)


def has_entries(dir_fd: int) -> bool:
    with os.scandir(dir_fd) as it:
        return next(it, None) is not None


def reopen_regular(path_fd: int) -> int:
    """A readable fd of the very inode behind the O_PATH fd `path_fd` (checked to be a regular file)."""
    return os.open(f"/proc/self/fd/{path_fd}", READ_FLAGS)


def read_at_most(fd: int, size: int) -> bytes:
    """Up to `size` bytes from `fd` (fewer when the file shrank meanwhile; never more when it grew)."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class WorkDir:
    """The host side of a kernel's /home/work, opened once; lookups below it never leave it."""

    def __init__(self, root: Path, verb: str) -> None:
        self.verb = verb
        try:
            self.fd = os.open(root, DIR_FLAGS)
        except OSError as e:
            raise FileOperationFailed(f"the kernel's work directory {root} cannot be opened: {e.strerror}") \
                from None
        self.dev = os.fstat(self.fd).st_dev

    def __enter__(self) -> WorkDir:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        os.close(self.fd)

    def check_same_fs(self, st: os.stat_result, where: str) -> None:
        """Refuse anything on another filesystem (a mount point below the work directory)."""
        if st.st_dev != self.dev:
            raise outside(self.verb, f"{where} is on another filesystem")

    def not_a_dir_error(self, dir_fd: int, name: str, where: str) -> Exception:
        """Why `name` could not be opened as a directory: a symlink (an escape) or something else."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as e:
            return self.os_error(e, where)
        if stat.S_ISLNK(st.st_mode):
            return link_refused(self.verb, where)
        return FileOperationFailed(f"Could not {self.verb} {where}: not a directory")

    def os_error(self, e: OSError, where: str) -> FileOperationFailed:
        return FileOperationFailed(f"Could not {self.verb} {where}: {e.strerror or e}")

    @contextmanager
    def reporting(self, where: str) -> Iterator[None]:
        """The block's OS errors as FileOperationFailed; ours (OutsideWorkDir is an OSError too) as is."""
        try:
            yield
        except AgentError:
            raise
        except OSError as e:
            raise self.os_error(e, where) from None

    def enter(self, dir_fd: int, name: str, where: str) -> int:
        """Open the directory `name` below `dir_fd`, refusing links and other filesystems."""
        try:
            fd = open_dir_at(dir_fd, name)
        except OSError as e:
            if e.errno in (errno.ENOTDIR, errno.ELOOP):
                raise self.not_a_dir_error(dir_fd, name, where) from None
            raise self.os_error(e, where) from None
        try:
            self.check_same_fs(os.fstat(fd), where)
        except OutsideWorkDir:
            os.close(fd)
            raise
        return fd

    def walk(self, wp: WorkPath, n: int) -> int:
        """A new fd of the directory made of the first `n` parts of `wp` (the caller closes it)."""
        fd = os.dup(self.fd)
        try:
            for i in range(n):
                child = self.enter(fd, wp.parts[i], wp.upto(i + 1))
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextmanager
    def parent(self, wp: WorkPath) -> Iterator[int]:
        """The open parent directory of `wp`'s last part."""
        fd = self.walk(wp, len(wp.parts) - 1)
        try:
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def lookup(self, dir_fd: int, name: str, where: str) -> Iterator[tuple[int, os.stat_result]]:
        """An O_PATH fd of `name` below `dir_fd` (never following a link) and its stat; OSError as is."""
        fd = os.open(name, PATH_FLAGS, dir_fd=dir_fd)
        try:
            st = os.fstat(fd)
            self.check_same_fs(st, where)
            yield fd, st
        finally:
            os.close(fd)
