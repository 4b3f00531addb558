"""The one per-process object holding this host's connections: settings, Docker, Redis, events.

Tasks reach it through `host()`; stages never do (they get what they need in their spec).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import docker
import redis

from worker.config import AgentSettings, load_settings
from worker.events import EventProducer
from worker.kernels.services import KernelServices
from worker.state.db import StateDB
from worker.state.kernels import KernelRegistry


@dataclass
class Host:
    settings: AgentSettings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def docker(self) -> docker.DockerClient:
        # The threads pool shares this client: size its connection pool to the pool's concurrency.
        return docker.DockerClient.from_env(
            timeout=int(self.settings.docker_timeout), max_pool_size=self.settings.concurrency + 4
        )

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=10, health_check_interval=30)

    @cached_property
    def events(self) -> EventProducer:
        s = self.settings
        return EventProducer(self.redis, s.id, s.events_stream, s.events_maxlen)

    @cached_property
    def db(self) -> StateDB:
        return StateDB(self.settings.var_dir.resolve() / "agent.db")

    @cached_property
    def registry(self) -> KernelRegistry:
        return KernelRegistry(self.db)

    @cached_property
    def kernels(self) -> KernelServices:
        return KernelServices.build(self.settings, self.docker, self.db, self.registry, self.events)

    def close(self) -> None:
        """Close every connection this object opened."""
        for name in ("docker", "redis"):
            conn = self.__dict__.pop(name, None)
            if conn is not None:
                conn.close()
        for name in ("events", "kernels"):
            self.__dict__.pop(name, None)


_current: Host | None = None
_current_lock = threading.Lock()


def host() -> Host:
    """This process's Host, made on first use from the environment and agent.toml."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Host(load_settings())
    return _current


def install_host(h: Host | None) -> None:
    """Replace this process's Host (the worker's start-up, and tests)."""
    global _current
    if _current is not None and _current is not h:
        _current.close()
    _current = h
