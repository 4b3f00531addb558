"""bench/inference: how fast the agent notices a model service that died, against its health
check's interval; and what watching 20 idle inference kernels costs the agent (CPU) and Redis
(commands per second), against 20 plain kernels in the same run.
    usage: .venv/bin/python -m bench.inference [--interval 1.0] [--deaths 5] [--kernels 20]
                                               [--window 30] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import redis

from agent_client.client import AgentClient
from agent_client.events import StreamCursor
from bench.report import write_results
from tests.integration.inference.conftest import inference_config, model_definition
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.redis_server import RedisServer

RESULTS = REPO / "bench" / "results" / "inference.md"
IMAGE = "kernel-python:latest"
PLAIN = {"image": {"canonical": IMAGE, "is_local": True}, "resource_slots": {"cpu": 1, "mem": "96m"}}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def commands(r: redis.Redis) -> int:
    stats: Any = r.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


def idle_cost(r: redis.Redis, pid: int, window: float) -> tuple[float, float]:
    """Agent CPU (percent of one core) and Redis commands per second over `window` seconds."""
    c0, n0, t0 = cpu_seconds(pid), commands(r), time.monotonic()
    time.sleep(window)
    dt = time.monotonic() - t0
    return 100 * (cpu_seconds(pid) - c0) / dt, (commands(r) - n0 - 1) / dt


def create(client: AgentClient, session: str, configs: list[dict[str, Any]]) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in configs]
    for i in range(0, len(ids), 10):
        client.call("create_kernels", raw_session_id=session, raw_kernel_ids=ids[i:i + 10],
                    raw_configs=configs[i:i + 10], wait=600)
    return ids


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interval", type=float, default=1.0, help="health check interval of the services")
    p.add_argument("--deaths", type=int, default=5)
    p.add_argument("--kernels", type=int, default=20)
    p.add_argument("--window", type=float, default=30.0, help="seconds each idle cost is measured over")
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    redis_server = RedisServer()
    low = random.randrange(20000, 28000, 1000)
    agent = AgentProcess(new_agent_id("inference"), redis_server.url, extra_env={
        "AGENT_CPU_OVERCOMMIT": "20", "AGENT_PORT_RANGE": f"[{low}, {low + 999}]"})
    client = AgentClient(agent.agent_id, redis_server.url, default_timeout=600)
    r = redis.Redis.from_url(redis_server.url)
    d = docker.from_env()
    session, made = str(uuid.uuid4()), []
    definition = model_definition("healthy", interval=args.interval, restart=True)
    try:
        agent.wait_alive()
        # detection latency: kill the service from inside, wait for its unhealthy event
        [k] = create(client, session, [inference_config(IMAGE, definition)])
        made.append(k)
        container = d.containers.get(f"kernel.{k}")
        latencies = []
        for _ in range(args.deaths):
            cursor = StreamCursor(r)
            time.sleep(random.uniform(0, args.interval))  # die at any point of the interval
            killed = time.time()
            container.exec_run(["pkill", "-f", "server.py"], user="1000:1000")
            seen = {}
            for e in cursor.follow(time.monotonic() + 30):
                if e.name == "model_service_status" and e.payload["kernel_id"] == k:
                    seen[e.payload["healthy"]] = e.payload["since"]
                    if True in seen and False in seen:
                        break
            latencies.append(seen[False] - killed)
        # the monitor's cost: plain kernels, then as many inference kernels
        plain = create(client, session, [PLAIN] * args.kernels)
        made += plain
        plain_cpu, plain_cmds = idle_cost(r, agent.proc.pid, args.window)
        for kid in plain:
            client.call("destroy_kernel", kernel_id=kid, session_id=session, suppress_events=True)
            made.remove(kid)
        made += create(client, session, [inference_config(IMAGE, model_definition("healthy", interval=10))]
                       * (args.kernels - 1))
        infer_cpu, infer_cmds = idle_cost(r, agent.proc.pid, args.window)
    finally:
        for kid in made:
            client.call("destroy_kernel", kernel_id=kid, session_id=session, suppress_events=True)
        client.close()
        agent.stop()
        redis_server.stop()
    lines = [f"| service death -> unhealthy event (health check every {args.interval:g} s) | seconds |",
             "| --- | ---: |",
             f"| median of {len(latencies)} deaths | {statistics.median(latencies):.2f} |",
             f"| worst | {max(latencies):.2f} |",
             f"| median / interval | {statistics.median(latencies) / args.interval:.2f}x |",
             "", f"| {args.kernels} idle kernels (health checks every 10 s) | agent CPU % of a core "
                 "| Redis commands/s |",
             "| --- | ---: | ---: |",
             f"| plain kernels (floor) | {plain_cpu:.2f} | {plain_cmds:.2f} |",
             f"| inference kernels | {infer_cpu:.2f} | {infer_cmds:.2f} |",
             "", f"Command: `.venv/bin/python -m bench.inference {' '.join(sys.argv[1:])}`; Python "
                 f"{platform.python_version()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_results(RESULTS, "inference: health detection latency and the monitor's cost", text)


if __name__ == "__main__":
    main()
