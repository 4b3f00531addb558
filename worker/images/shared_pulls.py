"""One pull per image per host: a Redis key holds the task id of the pull under way.

check_and_pull calls arriving while an image is being pulled get that pull's task id instead of
starting another. The pull task removes the key when it ends; the key's TTL (the pull timeout and
a margin) covers a worker that died mid-pull, and a key naming a finished task is taken over.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import redis

# Delete the key only while it still names this pull (a newer pull may have taken it over).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class SharedPulls:
    def __init__(self, client: redis.Redis, agent_id: str, ttl: float) -> None:
        self._redis = client
        self._prefix = f"agent.{agent_id}.pulling."
        self._ttl = max(1, int(ttl))

    def current(self, image: str) -> str | None:
        """The task id of the pull of `image` under way, if any."""
        value = self._redis.get(self._prefix + image)
        return value.decode() if isinstance(value, bytes) else value

    def join_or_start(self, image: str, start: Callable[[str], None], finished: Callable[[str], bool]) -> str:
        """The id of the pull of `image` under way, or of a new one that `start(task_id)` sends."""
        key = self._prefix + image
        while True:
            task_id = str(uuid.uuid4())
            if self._redis.set(key, task_id, nx=True, ex=self._ttl):
                try:
                    start(task_id)
                except BaseException:
                    self.release(image, task_id)
                    raise
                return task_id
            running = self.current(image)
            if running is None:
                continue  # released between our SET and GET
            if not finished(running):
                return running
            self.release(image, running)

    def release(self, image: str, task_id: str) -> None:
        self._redis.eval(_RELEASE, 1, self._prefix + image, task_id)
