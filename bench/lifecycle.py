"""bench/lifecycle: destroy_kernel round trip (p50) against `docker rm -f` of a like container
(same image, mounts and runner, handshake answered) measured in the same run, and restart_kernel
round trip against its floor: `docker rm -f` plus `docker run -d` until the runner answers.

    .venv/bin/python bench/lifecycle.py [--rounds 10] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.redis_server import RedisServer

REDIS = RedisServer()
VAR = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
os.environ.update({"AGENT_ID": f"bench-{uuid.uuid4().hex[:6]}", "AGENT_REDIS_URL": REDIS.url,
                   "AGENT_VAR_DIR": str(VAR), "AGENT_CONFIG": str(VAR / "agent.toml"),
                   "AGENT_PORT_RANGE": "[41000, 42000]"})

import docker  # noqa: E402
from celery.contrib.testing.worker import start_worker  # noqa: E402

from tasks.client import AgentClient  # noqa: E402
from worker.app import app  # noqa: E402
from worker.host import host  # noqa: E402
from worker.kernels.pipeline import RUNNER_DIR  # noqa: E402
from worker.runner_client import RunnerClient, RunnerUnavailable  # noqa: E402

IMAGE = "kernel-python:latest"
CONFIG = {"image": {"canonical": IMAGE, "is_local": True}, "resource_slots": {"cpu": 1, "mem": "256m"}}
IMAGE_REF = {"name": "kernel-python", "tag": "latest", "is_local": True}
RESULTS = Path(__file__).resolve().parent / "results" / "lifecycle.md"


def like_container(d: docker.DockerClient) -> tuple[str, float]:
    """A container like a kernel's (same mounts, limits, security options and a published port, its
    runner answering); its id and the seconds it took."""
    root = Path(tempfile.mkdtemp(prefix="floor-", dir=VAR))
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
            time.sleep(0.02)


def rm_f(d: docker.DockerClient, container_id: str) -> float:
    started = time.perf_counter()
    d.api.remove_container(container_id, force=True)
    return time.perf_counter() - started


def new_kernel(client: AgentClient) -> tuple[str, str]:
    kernel_id, session = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], raw_configs=[CONFIG],
                timeout=300)
    return kernel_id, session


def timed(fn: object, *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - started


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(Path.cwd())}")
    args = p.parse_args()
    d = docker.from_env()
    s = host().settings
    app.loader.import_default_modules()
    floor_destroy, agent_destroy, floor_restart, agent_restart = [], [], [], []
    with start_worker(app, pool="threads", concurrency=s.concurrency, queues=[s.queue],
                      perform_ping_check=False, loglevel="WARNING"):
        client = AgentClient(s.id, REDIS.url)
        rm_f(d, like_container(d)[0])  # warm-up both paths
        k, sess = new_kernel(client)
        client.call("destroy_kernel", kernel_id=k, session_id=sess)
        for _ in range(args.rounds):
            floor_destroy.append(rm_f(d, like_container(d)[0]))
            k, sess = new_kernel(client)
            agent_destroy.append(timed(client.call, "destroy_kernel", kernel_id=k, session_id=sess))
        k, sess = new_kernel(client)
        cid, _ = like_container(d)
        for _ in range(args.rounds):
            removed = rm_f(d, cid)
            cid, made = like_container(d)
            floor_restart.append(removed + made)
            agent_restart.append(timed(client.call, "restart_kernel", kernel_id=k, session_id=sess,
                                       kernel_image=IMAGE_REF))
        rm_f(d, cid)
        client.call("destroy_kernel", kernel_id=k, session_id=sess)
        client.close()
    REDIS.stop()

    fd, ad = statistics.median(floor_destroy), statistics.median(agent_destroy)
    fr, ar = statistics.median(floor_restart), statistics.median(agent_restart)
    rows = [
        f"| destroy_kernel p50 of {args.rounds} (enqueue to result) | "
        f"{ms(agent_destroy)} | `docker rm -f` {ms(floor_destroy)} | {ad / fd:.2f}x |",
        f"| restart_kernel p50 of {args.rounds} (enqueue to result) | {ms(agent_restart)} | "
        f"`docker rm -f` + `docker run -d` + handshake {ms(floor_restart)} | {ar / fr:.2f}x |",
    ]
    print("\n".join(rows))
    if args.write:
        RESULTS.write_text(REPORT.format(rounds=args.rounds, rows="\n".join(rows), date=time.strftime("%Y-%m-%d")))


REPORT = """# bench/lifecycle

Command: `.venv/bin/python bench/lifecycle.py --rounds {rounds} --write` (in-process worker, threads
pool, real Docker on this project's 2-core machine; run {date}).

Floors, measured in the same run against a container like a kernel's (same image, mounts, memory
and CPU limits, security options, `--init`, a published port, the runner answering its handshake):
`docker rm -f` (the API call the CLI makes) for destroy; `docker rm -f` plus `docker run -d` until
the runner answers for restart.

| what | agent | floor | ratio |
|---|---:|---:|---:|
{rows}

Targets: destroy <= 1.2x the floor; restart reported. The agent's destroy removes the container as
`docker rm -f` does (no SIGTERM grace: docs/lifecycle.md says why), tears down every other stage
(scratch, allocation, ports, ipc dir), updates the registry and says kernel_terminated, all inside
one Celery round trip. Restart removes the container the same way and runs the pipeline's start
stages again (create, start, runner handshake); allocation, ports and scratch are kept.

A first version stopped the container with SIGTERM (`docker stop`, 2 s grace): the runner takes
~300 ms to shut down, and destroy was 3.4x the floor. A floor without the published port (whose
docker-proxy Docker must stop) was ~45 ms faster: the floor now has one, as a kernel does.
"""


if __name__ == "__main__":
    main()
