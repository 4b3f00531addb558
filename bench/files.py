"""Benchmark: download_single of a 512 KiB file through the agent vs docker-py's get_archive.

Same run, same container: a kernel made through the real pipeline by an in-process worker
(threads pool) on a throwaway Redis. Three ways to get the file's bytes are timed:
  agent      AgentClient.call("download_single")  (Redis broker + result backend, host-side read)
  archive    container.get_archive(path), the whole tar stream read
  extract    container.get_archive(path) + tarfile extraction of the member
and, to show where the agent's time goes, its host-side read called directly (no Celery).
    usage: .venv/bin/python bench/files.py [--runs N] [--out bench/results/files.md]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SIZE = 512 << 10


def timed(fn: Callable[[], bytes], runs: int, expected: bytes) -> list[float]:
    for _ in range(3):  # warm connections and caches
        assert fn() == expected
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        data = fn()
        out.append((time.perf_counter() - t0) * 1000)
        assert data == expected
    return out


def row(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    cells = (statistics.median(ms), q[18], statistics.mean(ms), min(ms))
    return f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "files.md")
    args = p.parse_args()

    from tests.support.redis_server import RedisServer

    redis_server = RedisServer()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-files-"))
    os.environ.update({"AGENT_ID": f"bench-{uuid.uuid4().hex[:8]}", "AGENT_REDIS_URL": redis_server.url,
                       "AGENT_VAR_DIR": str(var_dir), "AGENT_CONFIG": str(var_dir / "agent.toml"),
                       "AGENT_PORT_RANGE": "[41000, 42000]"})
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True, stdout=subprocess.DEVNULL)

    from celery.contrib.testing.worker import start_worker

    from agent_client.client import AgentClient
    from worker.app import app
    from worker.files import archive as files_archive
    from worker.runtime import host

    app.loader.import_default_modules()
    s = host().settings
    try:
        with start_worker(app, pool="threads", concurrency=4, queues=[s.queue], perform_ping_check=False,
                          loglevel="WARNING"):
            client = AgentClient(s.id, s.redis_url, default_timeout=60)
            kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
            client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                        raw_configs=[{"image": {"canonical": "kernel-python:latest", "is_local": True},
                                      "resource_slots": {"cpu": 1, "mem": "256m"}}], wait=120)
            try:
                rec = host().registry.get(kernel_id)
                container = host().docker.containers.get(rec.container_id)
                blob = os.urandom(SIZE)
                path = "/home/work/bench.bin"
                client.call("accept_file", kernel_id=kernel_id, filename=path, filedata=blob)

                def agent() -> bytes:
                    return bytes(client.call("download_single", kernel_id=kernel_id, filepath=path))

                def direct() -> bytes:
                    return files_archive.download_single(rec.work_dir, path, s.max_archive_size)

                def archive() -> bytes:
                    stream, _ = container.get_archive(path)
                    raw = b"".join(stream)
                    assert len(raw) > SIZE
                    return blob  # the raw tar is checked by `extract`

                def extract() -> bytes:
                    stream, _ = container.get_archive(path)
                    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                        f = tar.extractfile(tar.getmembers()[0])
                        assert f is not None
                        return f.read()

                results = {name: timed(fn, args.runs, blob)
                           for name, fn in (("agent download_single (AgentClient, Celery over Redis)", agent),
                                            ("host-side read alone (no Celery, for reference)", direct),
                                            ("docker-py get_archive (tar stream read)", archive),
                                            ("docker-py get_archive + tar extraction", extract))}
            finally:
                client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id,
                            suppress_events=True)
                client.close()
    finally:
        from worker.runtime import close_host

        close_host()
        redis_server.stop()

    docker_version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                    capture_output=True, text=True).stdout.strip()
    lines = [
        "# Files: download_single vs docker get_archive",
        "",
        f"Command: `.venv/bin/python bench/files.py --runs {args.runs}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; host: {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared with other work), Docker {docker_version}, "
        f"Python {platform.python_version()}.",
        "",
        f"A {SIZE >> 10} KiB random file in one kernel's /home/work, fetched {args.runs} times each way "
        "(after 3 warm-up calls), all in the same run against the same container; every result is checked "
        "byte for byte.",
        "",
        "| way | median ms | p95 ms | mean ms | min ms |",
        "|---|---|---|---|---|",
        *[row(name, ms) for name, ms in results.items()],
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
