"""The agent's SQLite database: one file in the var dir, WAL, every change in a transaction.

Threads of the worker share one `StateDB`; each thread gets its own connection. `transaction()`
takes SQLite's write lock up front (BEGIN IMMEDIATE), so two tasks can never both read "free" and
both allocate the same thing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS kernels (
    kernel_id   TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    state       TEXT NOT NULL,
    record      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS allocations (
    kernel_id   TEXT NOT NULL,
    slot        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    amount      REAL NOT NULL,
    PRIMARY KEY (kernel_id, slot, device_id)
);
CREATE TABLE IF NOT EXISTS host_ports (
    port        INTEGER PRIMARY KEY,
    kernel_id   TEXT NOT NULL,
    released_at REAL
);
CREATE TABLE IF NOT EXISTS creation_slots (
    kernel_id   TEXT PRIMARY KEY,
    acquired_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS model_states (
    kernel_id   TEXT NOT NULL,
    model_name  TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (kernel_id, model_name)
);
"""


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(SCHEMA)  # executescript commits by itself

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        """A connection for plain reads (each statement sees the latest committed state)."""
        return self._connection()
