"""bench/density: one agent-worker holding 1, 25, 50 and 100 live kernels on this 2-core host.

At each level: execute(query, "print(1)") round trip p50/p99 over kernels taken in turn (against
the 1-kernel figure of the same run: target flat, at most 1.2x), after each kernel's first call
(reported apart: the agent connects to its runner then), the host's CPU while every kernel idles
(IDLE_WINDOW_S, nobody calling), the agent-worker's RSS (target at most 300 MB at 100), the
runners' RSS per kernel; and the seconds to create and destroy them all.
Kernels ask for one core each with the CPU overcommit at 100 (AGENT_CPU_OVERCOMMIT), so 100 fit on 2
cores, pinned and sharing them.
    usage: .venv/bin/python -m bench.density [--levels 1,25,50,100] [--calls 200] [--write]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from agent_client.client import AgentClient
from bench.report import percentile, write_results
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.redis_server import RedisServer

RESULTS = REPO / "bench" / "results" / "density.md"
CONFIG = {"image": {"canonical": "kernel-python:latest", "is_local": True},
          "resource_slots": {"cpu": 1, "mem": "96m"}}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def runner_rss_kib(d: docker.DockerClient, container_id: str) -> int:
    """The RSS of the kernel's processes but its init (the runner and its interpreter child)."""
    init = int(d.api.inspect_container(container_id)["State"]["Pid"])
    pids: list[int] = []
    todo = [init]
    while todo:
        pid = todo.pop()
        try:
            kids = [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                    for c in (t / "children").read_text().split()]
        except OSError:
            continue
        pids += kids
        todo += kids
    return sum(rss_kib(p) for p in pids)


IDLE_WINDOW_S = 5.0


def host_busy(seconds: float) -> float:
    """Percent of all the host's CPU time spent busy over `seconds` of nobody calling the agent
    (/proc/stat: everything but idle and iowait)."""
    def sample() -> tuple[int, int]:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(f) - f[3] - f[4], sum(f)
    busy0, all0 = sample()
    time.sleep(seconds)
    busy1, all1 = sample()
    return 100.0 * (busy1 - busy0) / max(1, all1 - all0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", default="1,25,50,100")
    p.add_argument("--calls", type=int, default=200, help="measured execute calls at each level")
    p.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    args = p.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    redis_server = RedisServer()
    low = random.randrange(20000, 28000, 1000)
    agent = AgentProcess(new_agent_id("density"), redis_server.url, extra_env={
        "AGENT_CPU_OVERCOMMIT": "100", "AGENT_PORT_RANGE": f"[{low}, {low + 999}]",
        "AGENT_RESERVED_MEM": str(256 << 20)})
    client = AgentClient(agent.agent_id, redis_server.url, default_timeout=600)
    d = docker.from_env()
    session = str(uuid.uuid4())
    kernels: list[str] = []
    rows, create_s, first_calls = [], 0.0, []
    try:
        agent.wait_alive()
        for level in levels:
            new = [str(uuid.uuid4()) for _ in range(level - len(kernels))]
            started = time.perf_counter()
            for batch in range(0, len(new), 25):
                part = new[batch:batch + 25]
                client.call("create_kernels", raw_session_id=session, raw_kernel_ids=part,
                            raw_configs=[CONFIG] * len(part), wait=600)
            create_s += time.perf_counter() - started
            kernels += new
            for k in new:  # each kernel's first call (the agent's connection to its runner) apart
                t0 = time.perf_counter()
                client.call("execute", session_id=session, kernel_id=k, mode="query", code="print(1)", opts={})
                first_calls.append(time.perf_counter() - t0)
            samples = []
            for i in range(args.calls):
                k = kernels[i % len(kernels)]
                t0 = time.perf_counter()
                r = client.call("execute", session_id=session, kernel_id=k, mode="query", code="print(1)", opts={})
                samples.append(time.perf_counter() - t0)
                assert r["console"] == [["stdout", "1\n"]], r
            busy = host_busy(IDLE_WINDOW_S)
            infos = {r["kernel_id"]: r for r in client.call("list_kernels")}
            sample = random.sample(kernels, min(10, len(kernels)))
            runners = [runner_rss_kib(d, infos[k]["container_id"]) for k in sample]
            rows.append((level, percentile(samples, 50), percentile(samples, 99), rss_kib(agent.proc.pid),
                         statistics.fmean(runners), busy))
            print(rows[-1], flush=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: client.call("destroy_kernel", kernel_id=k, session_id=session,
                                                suppress_events=True, wait=600), kernels))
        destroy_s = time.perf_counter() - started
        kernels = []
    finally:
        for k in kernels:
            client.call("destroy_kernel", kernel_id=k, session_id=session, suppress_events=True, wait=600)
        client.close()
        agent.stop()
        redis_server.stop()
    base50, base99 = rows[0][1], rows[0][2]
    lines = ["| live kernels | execute p50 ms | p99 ms | p50 vs 1 kernel | p99 vs 1 kernel | agent RSS MB "
             "| runner RSS per kernel MB | host CPU busy, all idle |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for level, p50, p99, agent_kib, runner_kib, busy in rows:
        lines.append(f"| {level} | {p50 * 1e3:.2f} | {p99 * 1e3:.2f} | {p50 / base50:.2f}x | {p99 / base99:.2f}x "
                     f"| {agent_kib / 1024:.0f} | {runner_kib / 1024:.1f} | {busy:.1f}% |")
    lines += ["", f"create all {levels[-1]} (in requests of 25): {create_s:.1f} s; destroy all "
                  f"(8 at a time): {destroy_s:.1f} s",
              "", f"A kernel's first execute (the agent connects to its runner), apart from the rows: p50 "
                  f"{percentile(first_calls, 50) * 1e3:.2f} ms, p99 {percentile(first_calls, 99) * 1e3:.2f} ms "
                  f"({len(first_calls)} kernels).",
              "", "Targets: p50 and p99 at most 1.2x the 1-kernel figure; agent RSS at most 300 MB at 100.",
              "", f"Command: `.venv/bin/python -m bench.density {' '.join(sys.argv[1:])}`; Python "
                  f"{platform.python_version()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_results(RESULTS, "density: 1 to 100 live kernels on one host", text)


if __name__ == "__main__":
    main()
