"""At most N kernels in container creation at once on this host, across every task and thread.

The slots live in the state database, so they are shared by all creations and none outlives a
crash: the worker clears them on start, when no creation can be in flight.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from contract.errors import KernelCreationFailed
from worker.state.db import StateDB


class CreationSlots:
    poll_interval = 0.02

    def __init__(self, db: StateDB, limit: int) -> None:
        self._db = db
        self.limit = limit

    @contextmanager
    def hold(self, kernel_id: str, timeout: float = 600.0) -> Iterator[None]:
        """Wait for a free slot (up to `timeout`), hold it for the block, give it back after."""
        deadline = time.monotonic() + timeout
        while not self._try_take(kernel_id):
            if time.monotonic() > deadline:
                raise KernelCreationFailed(f"no kernel-creation slot came free within {timeout:g} s")
            time.sleep(self.poll_interval)
        try:
            yield
        finally:
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM creation_slots WHERE kernel_id = ?", (kernel_id,))

    def _try_take(self, kernel_id: str) -> bool:
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM creation_slots WHERE kernel_id = ?", (kernel_id,)).fetchone():
                return True
            (held,) = conn.execute("SELECT COUNT(*) FROM creation_slots").fetchone()
            if held >= self.limit:
                return False
            conn.execute("INSERT INTO creation_slots VALUES (?, ?)", (kernel_id, time.time()))
            return True

    def held(self) -> int:
        return int(self._db.read().execute("SELECT COUNT(*) FROM creation_slots").fetchone()[0])

    def clear(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM creation_slots")
