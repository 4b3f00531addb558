"""The one Redis setting (`redis_url`) read by the agent and by managers: a plain Redis, or a
master found through Redis Sentinel, and what Celery and redis-py need from it.

    redis://[[user]:password@]host[:port][/db]                    (also rediss://, unix://)
    sentinel://[[user]:password@]host:port[;sentinel://host:port...][/db]?master_name=NAME

Sentinel URLs follow Celery's and kombu's own form (one `sentinel://` per sentinel, `;` between
them) with the master's name as a query parameter, so one string says everything. The user and
password are the Redis servers' (the sentinels take none); the db may be given on any part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "sentinel"
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class RedisTarget:
    """Where the agents' Redis is: `url` itself (plain) or `sentinels` + `master_name` (Sentinel)."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @property
    def celery_url(self) -> str:
        """The broker and backend URL for Celery: the setting without its query (Celery would pass
        `master_name` on to redis-py as a connection argument)."""
        if not self.uses_sentinel:
            return self.url
        return ";".join(part.split("?", 1)[0] for part in self.url.split(";"))

    @property
    def transport_options(self) -> dict[str, Any]:
        """What Celery's `sentinel://` broker and backend need besides the URL."""
        return {"master_name": self.master_name} if self.uses_sentinel else {}


def parse_redis_url(url: str) -> RedisTarget:
    """The target a `redis_url` names; ValueError naming what is wrong with a Sentinel URL."""
    if urlsplit(url.split(";", 1)[0]).scheme != SENTINEL_SCHEME:
        return RedisTarget(url=url)
    sentinels: list[tuple[str, int]] = []
    db, username, password, master = 0, None, None, None
    for part in url.split(";"):
        u = urlsplit(part.strip())
        if u.scheme != SENTINEL_SCHEME or not u.hostname:
            raise ValueError(f"redis_url: {part!r} is not sentinel://host:port (every part of a Sentinel "
                             "URL is one)")
        sentinels.append((u.hostname, u.port or DEFAULT_SENTINEL_PORT))
        if u.path.strip("/"):
            try:
                db = int(u.path.strip("/"))
            except ValueError:
                raise ValueError(f"redis_url: the db must be a number, got {u.path.strip('/')!r}") from None
        username = username or (unquote(u.username) if u.username else None)
        password = password or (unquote(u.password) if u.password else None)
        master = master or parse_qs(u.query).get("master_name", [None])[0]
    if not master:
        raise ValueError("redis_url: a Sentinel URL needs ?master_name=<the name the sentinels monitor>")
    return RedisTarget(url=url, sentinels=tuple(sentinels), master_name=master, db=db,
                       username=username, password=password)


def celery_redis_settings(target: RedisTarget) -> dict[str, Any]:
    """Celery settings that point an app's broker and result backend at `target` (the caller merges
    its own transport options, e.g. the visibility timeout, over these)."""
    return {
        "broker_url": target.celery_url,
        "result_backend": target.celery_url,
        "broker_transport_options": dict(target.transport_options),
        "result_backend_transport_options": dict(target.transport_options),
    }
