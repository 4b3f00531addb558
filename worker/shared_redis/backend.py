"""Celery's Redis and Sentinel result backends on the process's shared pool (worker/app.py names
them in `result_backend`).

Celery makes a backend per thread (`app.backend` is thread-local), each with its own pool: with the
threads pool every worker thread that stores a result would hold a connection of its own. Here
they all share the process's pool. Celery retries storing a result on connection errors with the
backend's retry policy (`retry_policy` in celeryconfig.py); reading one is retried the same way
here, so a creation step that asks whether its caller's result is settled rides out an outage.
"""

from __future__ import annotations

from typing import Any

import redis
from celery.backends import redis as celery_redis

from worker.shared_redis import pool


class RedisBackend(celery_redis.RedisBackend):  # type: ignore[misc]  # celery has no type hints
    def _get_pool(self, **params: Any) -> redis.ConnectionPool:
        return pool.shared_pool()

    def _get_task_meta_for(self, task_id: str) -> dict[str, Any]:
        meta: dict[str, Any] = self.ensure(super()._get_task_meta_for, (task_id,))
        return meta


class SentinelBackend(RedisBackend, celery_redis.SentinelBackend):  # type: ignore[misc]
    """Sentinel's URL form; the connections are the shared pool's, which knows the sentinels. A
    result stored is on a replica before the task's message is acknowledged."""

    def _set(self, key: str, value: Any, expires: Any = None) -> None:
        super()._set(key, value, expires)
        pool.wait_for_replica()
