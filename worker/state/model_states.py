"""The last known health of each model service of the host's inference kernels (kept across agent
restarts, so a restarted agent reports only real changes)."""

from __future__ import annotations

from contract.inference import ModelServiceState
from worker.state.db import StateDB


class ModelStates:
    def __init__(self, db: StateDB) -> None:
        self._db = db

    def put(self, kernel_id: str, state: ModelServiceState) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO model_states VALUES (?, ?, ?) ON CONFLICT(kernel_id, model_name) "
                         "DO UPDATE SET state = excluded.state", (kernel_id, state.model_name, state.model_dump_json()))

    def of(self, kernel_id: str) -> list[ModelServiceState]:
        rows = self._db.read().execute("SELECT state FROM model_states WHERE kernel_id = ? ORDER BY model_name",
                                       (kernel_id,)).fetchall()
        return [ModelServiceState.model_validate_json(r[0]) for r in rows]

    def forget(self, kernel_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM model_states WHERE kernel_id = ?", (kernel_id,))
