"""How a writer on a Sentinel-managed Redis makes sure a replica has what it wrote, shared by the
agent (a creation's next step, a result) and managers (`AgentClient.send`).

Replication is asynchronous: what the master took just before it died is lost with it. So, after
a write, a PUBLISH (replicated, no key) and a `WAIT 1` on one connection: the replication stream is
in order, so waiting for the PUBLISH covers every earlier write, whichever connection made it. A
master with no replica (the one left after a failover, until the old one returns) is not waited
for: whether it has one is asked (`ROLE`) at most every REPLICAS_CHECK_S. A replica slower than
REPLICA_WAIT_MS is not waited for any longer (the master is alive: the write stands); an error
(the master died) reaches the writer, which must take the write as maybe lost.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

REPLICA_WAIT_MS = 500  # a replica far behind is waited for this long, then the writer goes on
REPLICAS_CHECK_S = 5.0
CHANNEL = "_agent.replication"


class RedisLike(Protocol):
    def execute_command(self, *args: Any, **options: Any) -> Any: ...

    def pipeline(self, transaction: bool = True) -> Any: ...


class ReplicaWait:
    """`after_write(client)` blocks until a replica has every write so far (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replicas = 0
        self._checked = float("-inf")

    def after_write(self, client: RedisLike) -> bool:
        """Whether a replica has the writes (False when there is none or it was too slow)."""
        if not self._has_replicas(client):
            return False
        pipe = client.pipeline(transaction=False)
        pipe.publish(CHANNEL, "")
        pipe.wait(1, REPLICA_WAIT_MS)
        return bool(pipe.execute()[1])

    def _has_replicas(self, client: RedisLike) -> bool:
        with self._lock:
            if time.monotonic() - self._checked < REPLICAS_CHECK_S:
                return self._replicas > 0
        role = client.execute_command("ROLE")
        replicas = len(role[2]) if role and role[0] in (b"master", "master") else 0
        with self._lock:
            self._replicas, self._checked = replicas, time.monotonic()
        return replicas > 0
