"""The commit lock: a file that exists exactly while a commit of one kernel into one subdir runs.

An flock on the file serialises commits (threads of this worker and other processes alike: each
holder opens the file itself, and flock locks belong to the open file). The holder unlinks the file
before unlocking; a waiter that then gets the lock on the unlinked file opens the path again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from contract.errors import CommitFailed

_POLL = 0.05


@contextlib.contextmanager
def commit_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold the lock at `path` (creating it) for the block; CommitFailed after `timeout` s of waiting."""
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _acquire(fd, path, deadline)
            if _is_current(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the previous holder removed it: lock the path's new file
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def _acquire(fd: int, path: Path, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise CommitFailed(f"another commit held {path} for too long") from None
            time.sleep(_POLL)


def _is_current(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
