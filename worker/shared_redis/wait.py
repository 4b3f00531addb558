"""Before the worker starts: wait for Redis to answer, with backoff, instead of failing at once.

Celery retries its broker connection at start, but the agent's own start-up (recovery, liveness)
needs Redis too; an agent started while Redis is down (a host booting before its Redis, a Redis
being restarted) waits here and logs each try.
"""

from __future__ import annotations

import logging
import sys
import time

import redis

from worker.shared_redis.pool import shared_client

log = logging.getLogger("agent.wait_for_redis")

FIRST_PAUSE_S, MAX_PAUSE_S = 0.5, 10.0


def wait_for_redis(url: str) -> None:
    """Return once Redis (through Sentinel, its master) answers PING; pauses double up to 10 s."""
    if not log.handlers:  # Celery sets up logging later; these lines must show before it
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s: %(levelname)s/MainProcess] %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    client = shared_client(url)
    pause, tries = FIRST_PAUSE_S, 0
    while True:
        try:
            client.ping()
        except redis.RedisError as exc:
            tries += 1
            log.warning("Redis does not answer (%s); trying again in %.1f s (try %d)", exc, pause, tries)
            time.sleep(pause)
            pause = min(2 * pause, MAX_PAUSE_S)
            continue
        if tries:
            log.info("Redis answers after %d tries; starting the worker", tries)
        return
