"""This process's one pool of connections to the agents' Redis (a plain server, or the master that
Redis Sentinel names), and the client for it.

Every synchronous user shares it: kombu's channels (publishing, acknowledging, restoring), the
result backend (in every worker thread), the events producer and the liveness key. An idle agent
so holds one connection here besides kombu's two event-loop connections (BRPOP and the remote
control's pub/sub). A command is tried again once, on a new connection (`RETRY`): after Redis
restarts or Sentinel names a new master, every pooled connection is stale. Riding out an outage is
each user's own business, at its own pace (celeryconfig.py's retry policies for task threads, the
events backlog, the liveness key's next tick): a retry loop here would also stall the worker's
event loop, which sets the liveness key.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from contract.redis_target import RedisTarget, parse_redis_url
from contract.replication import ReplicaWait

RETRY = Retry(NoBackoff(), retries=1)
CONNECTION_KWARGS: dict[str, Any] = {
    "socket_timeout": 10.0,
    "socket_connect_timeout": 3.0,
    "health_check_interval": 30,  # a connection idle that long is PINGed before it is used again
}

_lock = threading.Lock()
_default_url: str | None = None
_client_name: str | None = None
_pools: dict[str, redis.ConnectionPool] = {}
_sentinels: dict[str, Sentinel] = {}
_replica_wait = ReplicaWait()


def use(url: str, client_name: str | None = None) -> None:
    """Name this process's Redis (the one its Celery app talks to) and how its connections are
    named in CLIENT LIST."""
    global _default_url, _client_name
    with _lock:
        _default_url, _client_name = url, client_name


def setting() -> str:
    """This process's `redis_url`."""
    if _default_url is None:
        raise RuntimeError("shared_redis.pool.use(url) was not called: no Redis is configured")
    return _default_url


def _url(url: str | None) -> str:
    return setting() if url is None else url


def _kwargs(target: RedisTarget) -> dict[str, Any]:
    kwargs = dict(CONNECTION_KWARGS, retry=RETRY, client_name=_client_name)
    if target.uses_sentinel:
        kwargs.update(db=target.db, username=target.username, password=target.password)
    return kwargs


def sentinel(url: str | None = None) -> Sentinel:
    """The Sentinel client of a Sentinel URL (its connections to the sentinels are shared too)."""
    target = parse_redis_url(_url(url))
    with _lock:
        if target.url not in _sentinels:
            _sentinels[target.url] = Sentinel(  # type: ignore[no-untyped-call]
                list(target.sentinels), sentinel_kwargs={"socket_timeout": 2.0, "socket_connect_timeout": 2.0},
                **_kwargs(target))
        return _sentinels[target.url]


def shared_pool(url: str | None = None) -> redis.ConnectionPool:
    """The pool for `url` (default: this process's Redis), made on first use and never closed by
    its users: it outlives kombu's channels and the Host."""
    target = parse_redis_url(_url(url))
    manager = sentinel(target.url) if target.uses_sentinel else None
    with _lock:
        if target.url not in _pools:
            if manager is not None:
                _pools[target.url] = SentinelConnectionPool(  # type: ignore[no-untyped-call]
                    target.master_name, manager, **_kwargs(target))
            else:
                _pools[target.url] = redis.ConnectionPool.from_url(target.url, **_kwargs(target))
        return _pools[target.url]


def shared_client(url: str | None = None) -> redis.Redis:
    return redis.Redis(connection_pool=shared_pool(url))


def master_pool(connection_kwargs: dict[str, Any]) -> redis.ConnectionPool:
    """A new pool of connections to this process's Sentinel-named master, with kombu's own
    connection settings (its event-loop connections must be its own: it registers their sockets)."""
    target = parse_redis_url(_url(None))
    return SentinelConnectionPool(  # type: ignore[no-untyped-call]
        target.master_name, sentinel(target.url), **connection_kwargs)


def wait_for_replica() -> None:
    """Through Sentinel, after a write: until a replica has it (contract/replication.py). A Redis
    error is raised: the write may be lost, and the writer's own retry (Celery's) writes it again."""
    _replica_wait.after_write(shared_client())
