"""The kernel registry: what this host knows of each kernel, persisted in the state database."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from contract.errors import KernelGone, KernelNotFound
from worker.scratch_layout import ScratchLayout
from worker.state.db import StateDB


class KernelState(enum.StrEnum):
    PREPARING = "preparing"
    RUNNING = "running"
    TERMINATING = "terminating"


class KernelRecord(ScratchLayout, BaseModel):
    kernel_id: str
    session_id: str
    state: KernelState = KernelState.PREPARING
    container_id: str | None = None
    runner_pid: int | None = None  # the runner's pid as the agent sees it (its handshake)
    scratch_dir: Path
    ipc_dir: Path
    uid: int
    gid: int
    image: str
    cluster_hostname: str = "main1"
    service_ports: list[dict[str, Any]] = []
    creation_info: dict[str, Any] = {}
    config: dict[str, Any] = {}
    created_at: float = Field(default_factory=time.time)
    termination_reason: str | None = None  # set when destruction starts (finished at start if it was cut)

    @property
    def runner_socket(self) -> Path:
        """Host side of the runner's Unix socket."""
        return self.ipc_dir / "runner.sock"


class KernelRegistry:
    def __init__(self, db: StateDB) -> None:
        self._db = db

    def get(self, kernel_id: str) -> KernelRecord:
        """The kernel's record; KernelNotFound (a KeyError) when this host does not know it."""
        row = self._db.read().execute("SELECT record FROM kernels WHERE kernel_id = ?",
                                      (kernel_id,)).fetchone()
        if row is None:
            raise KernelNotFound(kernel_id)
        return KernelRecord.model_validate_json(row[0])

    def get_brief(self, kernel_id: str) -> KernelRecord:
        """The kernel's record without its saved creation context and info (SQLite drops them, so
        the hot path parses a few hundred bytes, not the whole context); KernelNotFound if unknown."""
        row = self._db.read().execute(
            "SELECT json_remove(record, '$.config', '$.creation_info') FROM kernels WHERE kernel_id = ?",
            (kernel_id,)).fetchone()
        if row is None:
            raise KernelNotFound(kernel_id)
        return KernelRecord.model_validate_json(row[0])

    def state_of(self, kernel_id: str) -> KernelState | None:
        """The kernel's state (None when it is not known), without reading its whole record."""
        row = self._db.read().execute("SELECT state FROM kernels WHERE kernel_id = ?", (kernel_id,)).fetchone()
        return KernelState(row[0]) if row else None

    def find(self, kernel_id: str) -> KernelRecord | None:
        try:
            return self.get(kernel_id)
        except KernelNotFound:
            return None

    def put(self, rec: KernelRecord) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kernels (kernel_id, session_id, state, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(kernel_id) DO UPDATE SET session_id=excluded.session_id, "
                "state=excluded.state, record=excluded.record",
                (rec.kernel_id, rec.session_id, rec.state.value, rec.model_dump_json()),
            )

    def update(self, rec: KernelRecord) -> None:
        """Save `rec` over the kernel's record; KernelGone when the record was removed meanwhile
        (a destroy won the race), so a creation never brings a destroyed kernel back."""
        with self._db.transaction() as conn:
            cur = conn.execute("UPDATE kernels SET session_id = ?, state = ?, record = ? WHERE kernel_id = ?",
                               (rec.session_id, rec.state.value, rec.model_dump_json(), rec.kernel_id))
            if cur.rowcount == 0:
                raise KernelGone(rec.kernel_id)

    def add_new(self, rec: KernelRecord) -> bool:
        """Insert `rec` unless the kernel id is already known; False when it was (a redelivery)."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO kernels (kernel_id, session_id, state, record) VALUES (?, ?, ?, ?)",
                (rec.kernel_id, rec.session_id, rec.state.value, rec.model_dump_json()),
            )
            return cur.rowcount == 1

    def remove(self, kernel_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM kernels WHERE kernel_id = ?", (kernel_id,))

    def all(self) -> list[KernelRecord]:
        rows = self._db.read().execute("SELECT record FROM kernels ORDER BY kernel_id").fetchall()
        return [KernelRecord.model_validate_json(r[0]) for r in rows]

    def ids(self) -> set[str]:
        return {r[0] for r in self._db.read().execute("SELECT kernel_id FROM kernels").fetchall()}
