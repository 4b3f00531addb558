"""A manager's Redis client for the one `redis_url` setting: a plain Redis, or the master Redis
Sentinel names (contract/redis_target.py), found again after a failover."""

from __future__ import annotations

import logging

import redis
from redis.sentinel import Sentinel

from contract.redis_target import parse_redis_url
from contract.replication import ReplicaWait

SENTINEL_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}

log = logging.getLogger(__name__)
_replica_wait = ReplicaWait()


def redis_client(url: str) -> redis.Redis:
    """A client for `url`; through Sentinel, each new connection asks the sentinels for the master."""
    target = parse_redis_url(url)
    if not target.uses_sentinel:
        return redis.Redis.from_url(url)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=SENTINEL_TIMEOUTS)  # type: ignore[no-untyped-call]
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.master_name, db=target.db, username=target.username, password=target.password)
    return client


def wait_for_replica(client: redis.Redis) -> None:
    """Through Sentinel, after sending a task: until a replica has its message, so a failover right
    after cannot lose it (contract/replication.py). An error here leaves the send as it was: the
    master took the message."""
    try:
        _replica_wait.after_write(client)
    except redis.RedisError as exc:
        log.warning("could not wait for a replica to have the task's message: %s", exc)
