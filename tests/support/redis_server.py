"""A throwaway `redis-server` on a free loopback port (Debian's redis-server; required, never skipped).

By default it keeps nothing on disk. With `data_dir` it keeps an append-only file there, as a
production Redis does, so `stop()` and `start()` restart it with its data (the same port).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_ping(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    client = redis.Redis(port=port)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{what} on port {port} did not start") from None
                time.sleep(0.05)
    finally:
        client.close()


class RedisServer:
    def __init__(self, data_dir: Path | None = None, extra_args: list[str] | None = None,
                 port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server): "
                               "the tests need a real Redis")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        persistence = ["--appendonly", "no"] if data_dir is None else \
            ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir)]
        self.argv = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
                     "--maxmemory-policy", "noeviction", *(extra_args or [])]
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_ping(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        """SIGTERM: Redis closes its clients' connections and exits (with its data written)."""
        self.proc.terminate()
        self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, as a crashed host's is."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
