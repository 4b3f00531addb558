"""kombu's Redis and Sentinel transports as the agent uses them (`broker_transport` in worker/app.py).

The stock channels, with three changes about which connections a channel uses and when:

- **Synchronous commands go through the process's shared pool** (publishing, acknowledging): one
  connection for every channel, the result backend and the agent's own clients, instead of a pool
  per channel. The pool belongs to the process, so a channel closing never closes it.

- **A channel whose connection is lost restores nothing.** kombu puts a closing channel's
  unacknowledged messages back on their queues. For a Celery worker that only makes duplicates:
  with `worker_cancel_long_running_tasks_on_connection_loss` off, the tasks of those messages keep
  running here, and their acknowledgements now reach Redis through the shared pool when they end;
  the copy put back would run a second time alongside (a second `kernels.start` of a kernel being
  started). A worker that dies before acknowledging is covered by the visibility timeout, as for
  a crash; a warm shutdown finishes its tasks first; after a cold one, the next start's recovery
  fails the creations it cut and a later redelivery finds them settled.

- **Workaround for a kombu bug** (celery/kombu#582, #970; seen with kombu 5.7.0). On a lost
  connection Celery calls `Connection.collect()`, which closes the channels (a failing BRPOP read
  makes each attempt stop early) and then *the transport* (`transport.client = None`); Celery's
  `connection.close()` then closes the default channel again, whose restore of unacknowledged
  messages builds a new pool from `self.connection.client`: `AttributeError: 'NoneType' object
  has no attribute 'hostname'`, which Celery takes for an unrecoverable error, and the worker
  exits. Beyond not restoring, a closed channel here reaches Redis only through the shared pool,
  which needs nothing from the transport, and any other use of a closed transport's parameters
  raises redis' ConnectionError, which kombu and Celery treat as the connection loss it is.
  tests/system/test_redis_outage.py restarts Redis under a creation in flight.

The event-loop connections (BRPOP, the remote control's pub/sub) stay per channel: kombu
registers their sockets in the worker's event loop. A Sentinel channel finds its master through
every sentinel of the setting (kombu's own would know only the broker URL's one).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from contract.redis_target import parse_redis_url
from worker.shared_redis import pool

log = logging.getLogger(__name__)


class _QoS(kombu_redis.QoS):  # kombu has no type hints (Any)
    """kombu's Redis acknowledgement emulation, except that a message BRPOP took just as Redis went
    away still runs: kombu records it as unacknowledged (in Redis) before handing it to Celery, and
    when that fails the message, already off its queue, was dropped. It runs now; only a worker
    crash before it ends loses it (no record to redeliver from)."""

    def append(self, message: Any, delivery_tag: Any) -> None:
        try:
            super().append(message, delivery_tag)  # type: ignore[no-untyped-call]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("message %s was taken from its queue as Redis went away (%s): it runs unrecorded",
                        delivery_tag, exc)
            virtual.QoS.append(self, message, delivery_tag)  # type: ignore[no-untyped-call]


class _SharedPoolChannel:
    """What both channels change; mixed in before kombu's channel class."""

    do_restore = False  # see the module's docstring
    QoS = _QoS
    _async_pool: redis.ConnectionPool | None
    _pool: redis.ConnectionPool | None
    keyprefix_fanout: str
    connection: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # kombu PINGs through the event-loop pool when a channel opens; a channel that never
        # consumes (the events dispatcher's, a producer's) would keep that connection idle forever.
        if self._async_pool is not None:
            self._async_pool.disconnect(inuse_connections=False)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if getattr(self.connection, "client", None) is None:  # the transport, or its client, is gone
            raise redis.ConnectionError("this channel's broker connection was closed")
        params: dict[str, Any] = super()._connparams(asynchronous)  # type: ignore[misc]
        return params

    def _get_pool(self, asynchronous: bool = False) -> redis.ConnectionPool:
        if "{db}" in self.keyprefix_fanout:
            self.keyprefix_fanout = self.keyprefix_fanout.format(db=self._connparams()["db"])
        if not asynchronous:
            return pool.shared_pool()
        return self._event_loop_pool()

    def _event_loop_pool(self) -> redis.ConnectionPool:
        pool_: redis.ConnectionPool = super()._get_pool(asynchronous=True)  # type: ignore[misc]
        return pool_

    def _disconnect_pools(self) -> None:
        self._pool = None  # the shared pool is the process's, not this channel's, to close
        async_pool, self._async_pool = self._async_pool, None
        if async_pool is not None:
            async_pool.disconnect()


class RedisChannel(_SharedPoolChannel, kombu_redis.Channel):  # kombu has no type hints (Any)
    """A Redis channel on the shared pool."""


class SentinelChannel(_SharedPoolChannel, kombu_redis.SentinelChannel):
    """A Sentinel channel on the shared pool; its event-loop pool asks every sentinel of the setting;
    a message it sends (a creation's next step) is on a replica before sending returns."""

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        super()._put(queue, message, **kwargs)  # type: ignore[no-untyped-call]
        pool.wait_for_replica()

    def _event_loop_pool(self) -> redis.ConnectionPool:
        params = self._connparams(asynchronous=True)
        target = parse_redis_url(pool.setting())
        for key in ("host", "port"):
            params.pop(key, None)
        params.update(db=target.db, username=target.username, password=target.password)
        return pool.master_pool(params)


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
