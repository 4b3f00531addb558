"""bench/create: create_kernels round trip for one kernel (p50) and wall time for 8 at once,
against a floor measured in the same run: `docker run -d` of the same image with the same mounts
until the same runner answers its handshake. Also the per-stage breakdown of the agent.

    .venv/bin/python bench/create.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agent_harness import KERNEL_CONFIG, in_process_worker, like_container, prepare

REDIS, VAR = prepare("create", (40000, 41000))

import docker  # noqa: E402

from agent_client.client import AgentClient  # noqa: E402
from worker.runtime import host  # noqa: E402


def floor_once(d: docker.DockerClient) -> float:
    """The floor: a container like a kernel's, started until its runner answers, then removed."""
    container_id, seconds = like_container(d, VAR)
    d.api.remove_container(container_id, force=True)
    return seconds


def agent_create(client: AgentClient, n: int) -> tuple[float, list[str], str]:
    session = str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(n)]
    started = time.perf_counter()
    client.call("create_kernels", raw_session_id=session, raw_kernel_ids=ids, raw_configs=[KERNEL_CONFIG] * n,
                wait=300)
    return time.perf_counter() - started, ids, session


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    d = docker.from_env()
    s = host().settings
    with in_process_worker():
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
