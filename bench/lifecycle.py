"""bench/lifecycle: destroy_kernel round trip (p50) against `docker rm -f` of a like container
(same image, mounts and runner, handshake answered) measured in the same run, and restart_kernel
round trip against its floor: `docker rm -f` plus `docker run -d` until the runner answers.

    .venv/bin/python bench/lifecycle.py [--rounds 10] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agent_harness import KERNEL_CONFIG, in_process_worker, like_container, prepare

REDIS, VAR = prepare("lifecycle", (41000, 42000))

import docker  # noqa: E402

from agent_client.client import AgentClient  # noqa: E402
from worker.runtime import host  # noqa: E402

IMAGE_REF = {"name": "kernel-python", "tag": "latest", "is_local": True}
RESULTS = Path(__file__).resolve().parent / "results" / "lifecycle.md"


def rm_f(d: docker.DockerClient, container_id: str) -> float:
    started = time.perf_counter()
    d.api.remove_container(container_id, force=True)
    return time.perf_counter() - started


def new_kernel(client: AgentClient) -> tuple[str, str]:
    kernel_id, session = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], raw_configs=[KERNEL_CONFIG],
                wait=300)
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
    floor_destroy, agent_destroy, floor_restart, agent_restart = [], [], [], []
    with in_process_worker():
        client = AgentClient(s.id, REDIS.url)
        rm_f(d, like_container(d, VAR)[0])  # warm-up both paths
        k, sess = new_kernel(client)
        client.call("destroy_kernel", kernel_id=k, session_id=sess)
        for _ in range(args.rounds):
            floor_destroy.append(rm_f(d, like_container(d, VAR)[0]))
            k, sess = new_kernel(client)
            agent_destroy.append(timed(client.call, "destroy_kernel", kernel_id=k, session_id=sess))
        k, sess = new_kernel(client)
        cid, _ = like_container(d, VAR)
        for _ in range(args.rounds):
            removed = rm_f(d, cid)
            cid, made = like_container(d, VAR)
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
