"""A Redis master, one replica and three sentinels on free loopback ports (Debian's redis-server and
redis-sentinel; required, never skipped), and a master to kill."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import redis

from tests.support.redis_server import RedisServer, free_port, wait_for_ping

DOWN_AFTER_MS = 1000  # sentinels call a silent master down after this long, then fail over


class SentinelCluster:
    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-sentinel")
        if exe is None:
            raise RuntimeError("redis-sentinel is not installed (apt-get install redis-sentinel): "
                               "the failover test needs real sentinels")
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        (workdir / "master").mkdir()
        (workdir / "replica").mkdir()
        self.master = RedisServer(data_dir=workdir / "master")
        self.replica = RedisServer(data_dir=workdir / "replica",
                                   extra_args=["--replicaof", "127.0.0.1", str(self.master.port)])
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        try:
            self._wait(self._replica_in_sync, "the replica to sync")
            for port in self.sentinel_ports:
                conf = workdir / f"sentinel-{port}.conf"
                conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                                f"sentinel monitor {self.name} 127.0.0.1 {self.master.port} 2\n"
                                f"sentinel down-after-milliseconds {self.name} {DOWN_AFTER_MS}\n"
                                f"sentinel failover-timeout {self.name} 10000\n")
                proc = subprocess.Popen([exe, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                self.sentinels.append(proc)
                wait_for_ping(port, proc, "redis-sentinel")
            self._wait(self._sentinels_know_each_other_and_the_replica, "the sentinels to find each other")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The agent's `redis_url` for this cluster."""
        parts = ";".join(f"sentinel://127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"{parts}/0?master_name={self.name}"

    def master_port(self) -> int:
        s = redis.Redis(port=self.sentinel_ports[0])
        try:
            return int(s.sentinel_get_master_addr_by_name(self.name)[1])
        finally:
            s.close()

    def kill_master(self) -> None:
        """SIGKILL the master (no goodbye to its clients) and wait until the sentinels name the replica."""
        self.master.kill()
        self._wait(lambda: self.master_port() == self.replica.port, "the failover", timeout=60)

    def stop(self) -> None:
        for proc in self.sentinels:
            proc.terminate()
            proc.wait(10)
        for server in (self.replica, self.master):
            if server.proc.poll() is None:
                server.stop()

    def _replica_in_sync(self) -> bool:
        r = redis.Redis(port=self.replica.port)
        try:
            return bool(r.info("replication")["master_link_status"] == "up")
        finally:
            r.close()

    def _sentinels_know_each_other_and_the_replica(self) -> bool:
        for port in self.sentinel_ports:
            s = redis.Redis(port=port)
            try:
                if len(s.sentinel_sentinels(self.name)) < 2 or len(s.sentinel_slaves(self.name)) < 1:
                    return False
            finally:
                s.close()
        return True

    @staticmethod
    def _wait(condition: object, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():  # type: ignore[operator]
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for {what}")
            time.sleep(0.1)
