"""Which session a session network belongs to: the session whose kernels use it, while they do.

One row per kernel on a session network. A kernel is bound in the same transaction that checks no
other session has kernels there, so two sessions can never both get one network; the binding goes
with the session's last kernel.
"""

from __future__ import annotations

import sqlite3

from contract.errors import NetworkError
from worker.state.db import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS network_bindings (
    kernel_id   TEXT PRIMARY KEY,
    network     TEXT NOT NULL,
    session_id  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS network_bindings_network ON network_bindings (network);
"""


class NetworkTaken(NetworkError):
    """A session network another session's kernels use."""


def _other(conn: sqlite3.Connection, network: str, session_id: str) -> str | None:
    row = conn.execute("SELECT session_id FROM network_bindings WHERE network = ? AND session_id != ? LIMIT 1",
                       (network, session_id)).fetchone()
    return None if row is None else str(row[0])


class NetworkBindings:
    def __init__(self, db: StateDB) -> None:
        self._db = db
        db.read().executescript(SCHEMA)  # executescript commits by itself

    def other_session(self, network: str, session_id: str) -> str | None:
        """A session other than `session_id` with kernels on `network`, or None."""
        return _other(self._db.read(), network, session_id)

    def bind(self, network: str, session_id: str, kernel_id: str) -> None:
        """Put kernel `kernel_id` of `session_id` on `network`; NetworkTaken when another session is there."""
        with self._db.transaction() as conn:
            other = _other(conn, network, session_id)
            if other is not None:
                raise NetworkTaken(f"network {network!r} belongs to session {other}, whose kernels use it")
            conn.execute("INSERT OR REPLACE INTO network_bindings VALUES (?, ?, ?)", (kernel_id, network, session_id))

    def release(self, kernel_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM network_bindings WHERE kernel_id = ?", (kernel_id,))

    def kernels(self) -> set[str]:
        """Every kernel id with a binding (the reconciler releases those no record claims)."""
        return {r[0] for r in self._db.read().execute("SELECT kernel_id FROM network_bindings").fetchall()}
