"""A manager's Redis client for the one `redis_url` setting: a plain Redis, or the master Redis
Sentinel names (contract/redis_target.py), found again after a failover."""

from __future__ import annotations

import redis
from redis.sentinel import Sentinel

from contract.redis_target import parse_redis_url
from contract.replication import ReplicaWait

SENTINEL_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}

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
    after cannot lose it (contract/replication.py). A Redis error is raised to the caller: the task
    may not have been taken (the master may have died with it)."""
    _replica_wait.after_write(client)
