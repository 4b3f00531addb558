"""A per-host key in Redis that says the host's worker is alive (refreshed by the bootstep).

Managers read it before sending, so a task for a host with no live worker fails at once instead of
waiting in a queue nobody consumes.
"""

from __future__ import annotations

import redis

from contract.naming import LIVENESS_TTL_S, liveness_key


def mark_alive(client: redis.Redis, agent_id: str) -> None:
    client.set(liveness_key(agent_id), "1", ex=int(LIVENESS_TTL_S))


def mark_gone(client: redis.Redis, agent_id: str) -> None:
    client.delete(liveness_key(agent_id))

