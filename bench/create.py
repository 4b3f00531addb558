"""bench/create: create_kernels round trip for one kernel (p50) and wall time for 8 at once,
against a floor measured in the same run: `docker run -d` of the same image with the same mounts
until the same runner answers its handshake. Also the per-stage breakdown of the agent.

    .venv/bin/python bench/create.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.redis_server import RedisServer

REDIS = RedisServer()
VAR = Path(tempfile.mkdtemp(prefix="bench-create-"))
os.environ.update({"AGENT_ID": f"bench-{uuid.uuid4().hex[:6]}", "AGENT_REDIS_URL": REDIS.url,
                   "AGENT_VAR_DIR": str(VAR), "AGENT_CONFIG": str(VAR / "agent.toml"),
                   "AGENT_PORT_RANGE": "[40000, 41000]"})

import docker  # noqa: E402
from celery.contrib.testing.worker import start_worker  # noqa: E402

from tasks.client import AgentClient  # noqa: E402
from worker.app import app  # noqa: E402
from worker.host import host  # noqa: E402
from worker.kernels.pipeline import RUNNER_DIR  # noqa: E402
from worker.runner_client import RunnerClient, RunnerUnavailable  # noqa: E402

IMAGE = "kernel-python:latest"
CONFIG = {"image": {"canonical": IMAGE, "is_local": True}, "resource_slots": {"cpu": 1, "mem": "256m"}}


def floor_once(d: docker.DockerClient) -> float:
    """docker run -d with the agent's mounts, until the runner answers `status`."""
    root = Path(tempfile.mkdtemp(prefix="floor-", dir=VAR))
    for sub in ("config", "work", "ipc"):
        (root / sub).mkdir()
    os.chown(root / "work", 1000, 1000)
    os.chown(root / "ipc", 1000, 1000)
    started = time.perf_counter()
    c = d.containers.run(IMAGE, ["python3", "-I", "/opt/kernel/runner"], detach=True, user="1000:1000",
                         init=True, volumes={str(root / "config"): {"bind": "/home/config", "mode": "ro"},
                                             str(root / "work"): {"bind": "/home/work", "mode": "rw"},
                                             str(RUNNER_DIR): {"bind": "/opt/kernel/runner", "mode": "ro"},
                                             str(root / "ipc"): {"bind": "/opt/kernel/ipc", "mode": "rw"}},
                         labels={"agent.bench": "1"})
    runner = RunnerClient(root / "ipc" / "runner.sock")
    deadline = started + 60
    while True:
        try:
            runner.request("status", timeout=1)
            break
        except RunnerUnavailable:
            if time.perf_counter() > deadline:
                c.remove(force=True)
                raise
            time.sleep(0.02)
    elapsed = time.perf_counter() - started
    c.remove(force=True)
    return elapsed


def agent_create(client: AgentClient, n: int) -> tuple[float, list[str], str]:
    session = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(n)]
    started = time.perf_counter()
    client.call("create_kernels", raw_session_id=session, raw_kernel_ids=ids, raw_configs=[CONFIG] * n,
                timeout=300)
    return time.perf_counter() - started, ids, session


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    d = docker.from_env()
    s = host().settings
    app.loader.import_default_modules()
    with start_worker(app, pool="threads", concurrency=s.concurrency, queues=[s.queue],
                      perform_ping_check=False, loglevel="WARNING"):
        client = AgentClient(s.id, REDIS.url)
        floor_once(d)  # warm-up both paths
        t, ids, sess = agent_create(client, 1)
        client.call("destroy_kernel", kernel_id=ids[0], session_id=sess, suppress_events=True)

        floors, agents, stage_times = [], [], []
        for _ in range(args.rounds):
            floors.append(floor_once(d))
            t, ids, sess = agent_create(client, 1)
            agents.append(t)
            stage_times.append(host().registry.get(ids[0]).config["timings"])
            client.call("destroy_kernel", kernel_id=ids[0], session_id=sess, suppress_events=True)

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: floor_once(d), range(8)))
        floor8 = time.perf_counter() - started
        agent8, ids, sess = agent_create(client, 8)
        for k in ids:
            client.call("destroy_kernel", kernel_id=k, session_id=sess, suppress_events=True)

    f50, a50 = statistics.median(floors), statistics.median(agents)
    print(f"one kernel   p50: agent {a50 * 1000:.0f} ms, floor {f50 * 1000:.0f} ms, ratio {a50 / f50:.2f}x")
    print(f"8 at once   wall: agent {agent8 * 1000:.0f} ms, floor {floor8 * 1000:.0f} ms, "
          f"ratio {agent8 / floor8:.2f}x (kernel-creation-concurrency {s.kernel_creation_concurrency})")
    print("per-stage p50 (ms):")
    for name in stage_times[0]:
        print(f"  {name:<24} {statistics.median(t[name] for t in stage_times) * 1000:8.1f}")
    REDIS.stop()


if __name__ == "__main__":
    main()
