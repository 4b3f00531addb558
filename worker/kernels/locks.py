"""One lock per kernel id, process-wide: destroy, restart, the Docker events watcher and the
reconciler take it, so one kernel is cleaned (and announced) by exactly one of them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_guard = threading.Lock()
_locks: dict[str, tuple[threading.Lock, int]] = {}


@contextmanager
def kernel_lock(kernel_id: str) -> Iterator[None]:
    """Hold the kernel's lock for the block; the entry is dropped when nobody holds or waits for it."""
    with _guard:
        lock, users = _locks.get(kernel_id, (threading.Lock(), 0))
        _locks[kernel_id] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _guard:
            lock, users = _locks[kernel_id]
            if users == 1:
                del _locks[kernel_id]
            else:
                _locks[kernel_id] = (lock, users - 1)


def held_count() -> int:
    """How many kernel ids have a lock entry now (0 when no lifecycle work is under way)."""
    with _guard:
        return len(_locks)
