"""Benchmark: the agent's commit + gzipped export of a container holding new files, against
`docker commit` then `docker save | gzip` (default level 6 and -1) in the same run.

    .venv/bin/python bench/images.py --size-mb 200 --repeat 3 --out bench/results/images.md

The agent side runs `worker.images.commit.commit_kernel` (what the `agent.commit` task runs, minus
the Celery round trip of a few ms). Half the new data is random (incompressible), half base64 text.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.images.commit import CommitSpec, commit_kernel, commit_paths
from worker.images.export import GZIP_LEVEL

# Not the tests' label: a concurrent test session's cleanup would remove the container mid-run.
LABEL = "agent.bench"


def make_container(
    client: docker.DockerClient, image: str, size_mb: int
) -> docker.models.containers.Container:
    c = client.containers.run(image, ["sleep", "3600"], detach=True, labels={LABEL: "1"})
    half = size_mb // 2
    script = (
        f"mkdir -p /data && head -c {half}M /dev/urandom > /data/random.bin && "
        f"base64 /dev/urandom | head -c {size_mb - half}M > /data/text.txt && sync"
    )
    rc, out = c.exec_run(["sh", "-c", script])
    if rc != 0:
        c.remove(force=True)
        raise RuntimeError(f"filling the container failed: {out!r}")
    return c


def timed(fn: Callable[[], Path]) -> tuple[float, int]:
    start = time.perf_counter()
    path = fn()
    elapsed = time.perf_counter() - start
    size = path.stat().st_size
    path.unlink()
    return elapsed, size


def agent_commit(client: docker.DockerClient, cid: str, base: Path) -> Path:
    name = f"agent-{uuid.uuid4().hex[:8]}.tar.gz"
    paths = commit_paths(base, "bench", "00000000-0000-0000-0000-000000000000", name)
    commit_kernel(
        client, CommitSpec("bench", cid, paths, f"bench-agent-{uuid.uuid4().hex[:8]}", {LABEL: "1"}, 3600)
    )
    assert paths.export is not None
    return paths.export


def cli_commit(cid: str, base: Path, gzip_args: list[str]) -> Path:
    tag = f"bench-cli-{uuid.uuid4().hex[:8]}:x"
    out = base / f"cli-{uuid.uuid4().hex[:8]}.tar.gz"
    subprocess.run(["docker", "commit", "-c", f"LABEL {LABEL}=1", cid, tag], check=True, capture_output=True)
    subprocess.run(f"docker save {tag} | gzip {' '.join(gzip_args)} > {out}", shell=True, check=True)
    subprocess.run(["docker", "rmi", tag], check=True, capture_output=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="kernel-python:latest")
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    client = docker.from_env(timeout=600)
    base = Path(tempfile.mkdtemp(prefix="bench-commit-"))
    container = make_container(client, a.image, a.size_mb)
    variants: dict[str, Callable[[], Path]] = {
        f"agent commit + export (gzip -{GZIP_LEVEL}, pipelined)": lambda: agent_commit(
            client, container.id, base
        ),
        "docker commit; docker save | gzip": lambda: cli_commit(container.id, base, []),
        "docker commit; docker save | gzip -1": lambda: cli_commit(container.id, base, ["-1"]),
    }
    results: dict[str, list[tuple[float, int]]] = {k: [] for k in variants}
    try:
        for _ in range(a.repeat):  # interleaved, so background load hits every variant alike
            for name, fn in variants.items():
                results[name].append(timed(fn))
    finally:
        container.remove(force=True)
    image_mb = client.images.get(a.image).attrs["Size"] / 1e6
    lines = [
        "# Commit + export benchmark",
        "",
        f"Command: `.venv/bin/python bench/images.py --size-mb {a.size_mb} --repeat {a.repeat}"
        f"{f' --out {a.out}' if a.out else ''}`",
        "",
        f"Container: `{a.image}` ({image_mb:.0f} MB) plus {a.size_mb} MB of new files (half random, half "
        f"base64 text); Docker {client.version()['Version']}, storage driver {client.info()['Driver']}, "
        f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores shared with other work.",
        "Each run: commit, write the gzipped `docker save` tarball, delete the image.",
        "",
        "| variant | median s | min s | max s | tarball MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        secs = [t for t, _ in runs]
        cell = name.replace("|", "\\|")
        lines.append(
            f"| {cell} | {statistics.median(secs):.2f} | {min(secs):.2f} | {max(secs):.2f} | "
            f"{statistics.median(s for _, s in runs) / 1e6:.0f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if a.out:
        a.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
