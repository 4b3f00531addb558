"""What the in-process benchmarks share: a throwaway Redis with this process's agent environment,
the agent's worker in this process, and the floor container (`docker run -d` of a container like
a kernel's, until its runner answers the handshake).

Call `prepare()` before anything imports `worker.app` (it reads the environment at import).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.redis_server import RedisServer

IMAGE = "kernel-python:latest"
KERNEL_CONFIG = {"image": {"canonical": IMAGE, "is_local": True}, "resource_slots": {"cpu": 1, "mem": "256m"}}


def prepare(name: str, ports: tuple[int, int]) -> tuple[RedisServer, Path]:
    """A throwaway Redis, a var dir, and the AGENT_* environment pointing at them."""
    redis = RedisServer()
    var = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.environ.update({"AGENT_ID": f"bench-{uuid.uuid4().hex[:6]}", "AGENT_REDIS_URL": redis.url,
                       "AGENT_VAR_DIR": str(var), "AGENT_CONFIG": str(var / "agent.toml"),
                       "AGENT_PORT_RANGE": f"[{ports[0]}, {ports[1]}]"})
    return redis, var


@contextmanager
def in_process_worker() -> Iterator[Any]:
    """This host's worker in this process, as production runs it (threads pool, its concurrency)."""
    from celery.contrib.testing.worker import start_worker

    from worker.app import app
    from worker.runtime import host

    s = host().settings
    app.loader.import_default_modules()
    with start_worker(app, pool="threads", concurrency=s.concurrency, queues=[s.queue],
                      perform_ping_check=False, loglevel="WARNING") as w:
        yield w


def like_container(d: Any, var: Path, timeout: float = 60.0) -> tuple[str, float]:
    """A container like a kernel's (same image, mounts, limits, security options, a published port),
    started with `docker run -d` until its runner answers `status`; its id and the seconds it took."""
    from worker.runner_client import RunnerClient, RunnerUnavailable
    from worker.runner_files import SOURCE_DIR as RUNNER_DIR

    root = Path(tempfile.mkdtemp(prefix="floor-", dir=var))
    for sub in ("config", "work", "ipc"):
        (root / sub).mkdir()
    os.chown(root / "work", 1000, 1000)
    os.chown(root / "ipc", 1000, 1000)
    started = time.perf_counter()
    c = d.containers.run(IMAGE, ["python3", "-I", "/opt/kernel/runner"], detach=True, user="1000:1000",
                         init=True, mem_limit="256m", memswap_limit="256m", cpuset_cpus="0",
                         nano_cpus=1_000_000_000, pids_limit=4096, cap_drop=["ALL"],
                         security_opt=["no-new-privileges"], ports={"8080/tcp": ("127.0.0.1", None)},
                         labels={"agent.bench": "1"},
                         volumes={str(root / "config"): {"bind": "/home/config", "mode": "ro"},
                                  str(root / "work"): {"bind": "/home/work", "mode": "rw"},
                                  str(RUNNER_DIR): {"bind": "/opt/kernel/runner", "mode": "ro"},
                                  str(root / "ipc"): {"bind": "/opt/kernel/ipc", "mode": "rw"}})
    runner = RunnerClient(root / "ipc" / "runner.sock")
    while True:
        try:
            runner.request("status", timeout=1)
            return c.id, time.perf_counter() - started
        except RunnerUnavailable:
            if time.perf_counter() - started > timeout:
                c.remove(force=True)
                raise
            time.sleep(0.02)
