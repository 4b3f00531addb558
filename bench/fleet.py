"""What one agent costs the shared Redis, and a manager's fan-out across agents: N real
`agent-worker` processes (small concurrency) on one throwaway Redis, for each N.

- connections each agent holds (its process's TCP connections to Redis, via psutil) and, as the
  floor, a bare Celery worker with the same worker options on a Redis of its own (stock transport);
- commands per second each idle agent sends (Redis's INFO commandstats over an idle window, the
  bench's own INFO/CONFIG left out) and Redis's CPU seconds per second per agent (INFO cpu, less the
  same Redis's CPU with no client, measured first);
- a manager's fan-out: `ping` sent to every agent at once, then every result waited for, against a
  single agent's ping in the same run (rounds alternate);
- Redis commands per ping round trip, and the server's own throughput (redis-benchmark) for the
  projection of how many agents one Redis holds.
    usage: .venv/bin/python -m bench.fleet [--sizes 1,4,16] [--idle 60] [--rounds 60] [--before DIR] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

from agent_client.client import AgentClient, make_client_app
from bench.report import percentile, write_results
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.redis_server import RedisServer
from worker.bootsteps import CELERY_HEARTBEAT_S
from worker.main import worker_argv

RESULTS = REPO / "bench" / "results" / "fleet.md"
CELERY = str(Path(sys.executable).parent / "celery")
OWN_COMMANDS = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_client|list"}
AGENT_ENV = {"AGENT_CONCURRENCY": "2", "AGENT_MOCK_DEVICES": "[]", "AGENT_HEARTBEAT_INTERVAL": "20"}


@dataclass
class Run:
    n: int
    connections: list[int] = field(default_factory=list)  # per agent
    commands_per_s: float = 0.0  # per agent
    by_command: dict[str, float] = field(default_factory=dict)  # per agent per second
    redis_cpu_per_s: float = 0.0  # per agent: Redis's CPU seconds per second
    single: list[float] = field(default_factory=list)
    fanout: list[float] = field(default_factory=list)
    fanout_redis_busy: float = 0.0  # Redis's CPU seconds per second while the rounds ran
    commands_per_ping: float = 0.0
    per_ping: dict[str, float] = field(default_factory=dict)  # by command
    patterns: int = 0  # distinct pub/sub patterns (each agent's remote control subscribes to one)


def connections_to(pid: int, port: int) -> int:
    """TCP connections from process `pid` to the Redis on `port`."""
    return sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def command_counts(r: redis.Redis) -> dict[str, int]:
    return {k: int(v["calls"]) for k, v in r.info("commandstats").items() if k not in OWN_COMMANDS}


def redis_cpu(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def cpu_per_s(r: redis.Redis, seconds: float) -> float:
    """Redis's CPU seconds per second over `seconds`."""
    cpu0, t0 = redis_cpu(r), time.monotonic()
    time.sleep(seconds)
    return (redis_cpu(r) - cpu0) / (time.monotonic() - t0)


def idle_cost(r: redis.Redis, n: int, idle_s: float, empty_cpu: float, run: Run) -> None:
    """Commands and Redis CPU per agent over an idle window; the CPU of the same Redis with no
    client (its own housekeeping, measured before the agents started) is taken off."""
    r.config_resetstat()
    t0 = time.monotonic()
    cpu = cpu_per_s(r, idle_s)
    counts, elapsed = command_counts(r), time.monotonic() - t0
    run.by_command = {k.removeprefix("cmdstat_"): v / elapsed / n for k, v in sorted(counts.items())}
    run.commands_per_s = sum(counts.values()) / elapsed / n
    run.redis_cpu_per_s = max(0.0, cpu - empty_cpu) / n


def ping_rounds(r: redis.Redis, clients: list[AgentClient], rounds: int, run: Run) -> None:
    def fan(targets: list[AgentClient], tag: str) -> float:
        t0 = time.perf_counter()
        results = [c.send("ping", msg=tag) for c in targets]
        for res in results:
            assert res.get(timeout=60) == tag
        return time.perf_counter() - t0

    for i in range(5):
        fan(clients, f"warm-{i}")
    cpu0, t0 = redis_cpu(r), time.monotonic()
    for i in range(rounds):
        run.single.append(fan(clients[:1], f"s{i}"))
        run.fanout.append(fan(clients, f"f{i}"))
    run.fanout_redis_busy = (redis_cpu(r) - cpu0) / (time.monotonic() - t0)


def commands_per_ping(r: redis.Redis, client: AgentClient, run: Run, calls: int = 100) -> None:
    """Redis commands one ping round trip costs (client and agent together), by command; the idle
    traffic of the run's agents over the same time is taken off."""
    r.config_resetstat()
    t0 = time.monotonic()
    for i in range(calls):
        assert client.ping(f"c{i}") == f"c{i}"
    elapsed = time.monotonic() - t0
    counts = command_counts(r)
    idle = {k: v * run.n * elapsed for k, v in run.by_command.items()}
    run.per_ping = {k.removeprefix("cmdstat_"): max(0.0, (v - idle.get(k.removeprefix("cmdstat_"), 0.0)) / calls)
                    for k, v in sorted(counts.items())}
    run.commands_per_ping = sum(run.per_ping.values())


def measure(n: int, idle_s: float, rounds: int) -> Run:
    server = RedisServer()
    r = redis.Redis(port=server.port)
    empty_cpu = cpu_per_s(r, idle_s / 2)
    base = random.randrange(30000, 60000 - 20 * n, 1000)
    agents = [AgentProcess(new_agent_id(f"fleet{n}"), server.url,
                           extra_env={**AGENT_ENV, "AGENT_PORT_RANGE": f"[{base + 20 * i}, {base + 20 * i + 19}]"})
              for i in range(n)]
    app = make_client_app(server.url)
    clients = [AgentClient(a.agent_id, server.url, app=app) for a in agents]
    run = Run(n)
    try:
        for a in agents:
            a.wait_alive(timeout=300)
        time.sleep(10)  # start-up traffic (bindings, first heartbeats) settles
        run.connections = [connections_to(a.proc.pid, server.port) for a in agents]
        idle_cost(r, n, idle_s, empty_cpu, run)
        run.patterns = int(r.execute_command("PUBSUB", "NUMPAT"))
        ping_rounds(r, clients, rounds, run)
        commands_per_ping(r, clients[0], run)
        return run
    finally:
        for c in clients:
            c.close()
        app.close()
        for a in agents:  # all at once, then each waited for (stop() would signal again: a cold shutdown)
            a.proc.terminate()
        for a in agents:
            a.proc.wait(120)
            a.stop()
        r.close()
        server.stop()


def idle_agent(idle_s: float, source: Path | None = None) -> Run:
    """One idle agent on a Redis of its own: this tree's, or that of another checkout `source`
    (e.g. `git archive main | tar -x -C DIR`: the agent before a change, in the same run)."""
    server = RedisServer()
    r = redis.Redis(port=server.port)
    empty_cpu = cpu_per_s(r, idle_s / 2)
    env = {**AGENT_ENV, "AGENT_PORT_RANGE": "[45900, 45919]"}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    agent = AgentProcess(new_agent_id("fleet-idle"), server.url, extra_env=env)
    run = Run(1)
    try:
        agent.wait_alive(timeout=300)
        time.sleep(10)
        run.connections = [connections_to(agent.proc.pid, server.port)]
        idle_cost(r, 1, idle_s, empty_cpu, run)
        return run
    finally:
        agent.stop()
        r.close()
        server.stop()


def bare_floor(idle_s: float) -> Run:
    """A bare Celery worker (bench/bare_app.py: stock kombu transport and backend, celeryconfig) with
    the agent's worker options, idle on a Redis of its own."""
    server = RedisServer()
    r = redis.Redis(port=server.port)
    argv = worker_argv(["--heartbeat-interval", str(int(CELERY_HEARTBEAT_S))])
    argv[argv.index("-n") + 1], argv[argv.index("-Q") + 1], argv[argv.index("-c") + 1] = "bare@fleet", "bare", "2"
    proc = subprocess.Popen([CELERY, "-A", "bench.bare_app", *argv], cwd=REPO,
                            env={**os.environ, "AGENT_REDIS_URL": server.url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    run = Run(1)
    empty_cpu = cpu_per_s(r, idle_s / 2)
    try:
        deadline = time.monotonic() + 120
        while not any(c.get("cmd") == "brpop" for c in r.client_list()):
            assert proc.poll() is None and time.monotonic() < deadline, "the bare worker did not start"
            time.sleep(0.2)
        time.sleep(10)
        run.connections = [connections_to(proc.pid, server.port)]
        idle_cost(r, 1, idle_s, empty_cpu, run)
        return run
    finally:
        proc.terminate()
        proc.wait(60)
        r.close()
        server.stop()


def redis_throughput() -> float:
    """Requests per second one redis-server takes on this machine (SET, 50 clients, no pipelining)."""
    server = RedisServer()
    try:
        out = subprocess.run(["redis-benchmark", "-p", str(server.port), "-t", "set", "-n", "200000", "--csv"],
                             capture_output=True, text=True, check=True).stdout
        return float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
    finally:
        server.stop()


def report(runs: list[Run], bare: Run, before: Run | None, throughput: float, command: str) -> str:
    one = runs[0]
    lines = [
        "## Idle cost per agent",
        "",
        "| agents | connections per agent (max) | commands/s per agent | Redis CPU ms/s per agent |",
        "| ---: | ---: | ---: | ---: |",
    ]
    if before is not None:
        lines.append(f"| before: one agent of `--before` | {before.connections[0]} | {before.commands_per_s:.3f} "
                     f"| {before.redis_cpu_per_s * 1e3:.3f} |")
    for run in runs:
        lines.append(f"| {run.n} | {sum(run.connections) / run.n:.2f} ({max(run.connections)}) "
                     f"| {run.commands_per_s:.3f} | {run.redis_cpu_per_s * 1e3:.3f} |")
    lines += [
        f"| floor: bare Celery worker | {bare.connections[0]} | {bare.commands_per_s:.3f} "
        f"| {bare.redis_cpu_per_s * 1e3:.3f} |",
        "",
        f"agent / bare Celery worker (N=1): connections {sum(one.connections) / bare.connections[0]:.2f}x, "
        f"commands/s {one.commands_per_s / bare.commands_per_s:.2f}x (targets: at most 3 connections, "
        "at most 1 command/s)",
        "",
        "Commands per second per idle agent, by command (N=1): "
        + ", ".join(f"{k} {v:.3f}" for k, v in one.by_command.items()) + "; bare worker: "
        + ", ".join(f"{k} {v:.3f}" for k, v in bare.by_command.items())
        + ("" if before is None else "; before: " + ", ".join(f"{k} {v:.3f}" for k, v in before.by_command.items()))
        + ".",
        "",
        "## A manager's fan-out: ping every agent at once",
        "",
        "| agents | rounds | fan-out p50 ms | p99 ms | one agent p50 ms | p99 ms | fan-out / one p50 | p99 "
        "| Redis busy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        f50, f99 = percentile(run.fanout, 50), percentile(run.fanout, 99)
        s50, s99 = percentile(run.single, 50), percentile(run.single, 99)
        lines.append(f"| {run.n} | {len(run.fanout)} | {f50 * 1e3:.1f} | {f99 * 1e3:.1f} | {s50 * 1e3:.1f} "
                     f"| {s99 * 1e3:.1f} | {f50 / s50:.2f}x | {f99 / s99:.2f}x | {run.fanout_redis_busy:.0%} |")
    lines += [
        "",
        "Redis busy: Redis's CPU seconds per second while the rounds ran (of one core). Distinct pub/sub "
        "patterns with every agent up: " + ", ".join(f"{r.n} agents {r.patterns}" for r in runs)
        + " (the agents' remote-control subscriptions share one pattern, so a PUBLISH costs the same "
        "whatever the fleet's size).",
        "",
        "Redis commands per ping round trip (N=1, client and agent): "
        + ", ".join(f"{k} {v:.1f}" for k, v in one.per_ping.items() if v >= 0.05) + ".",
    ]
    big = runs[-1]
    per_ping = sum(r.commands_per_ping for r in runs) / len(runs)
    agents_by_cpu = 0.5 / max(big.redis_cpu_per_s, 1e-9)
    agents_by_commands = 0.5 * throughput / big.commands_per_s
    agents_by_clients = 10_000 / (sum(big.connections) / big.n)
    lines += [
        "",
        "## How many agents one Redis holds",
        "",
        f"- Redis on this machine takes {throughput:,.0f} SET/s (redis-benchmark, 50 clients); one idle agent "
        f"sends {big.commands_per_s:.3f} commands/s and costs Redis {big.redis_cpu_per_s * 1e3:.3f} ms of CPU a "
        f"second (N={big.n}); a ping round trip costs {per_ping:.1f} commands (client and agent).",
        f"- Idle, at half of Redis's one core: {agents_by_cpu:,.0f} agents by measured CPU, "
        f"{agents_by_commands:,.0f} by command rate; by connections, Redis's default `maxclients` (10,000) "
        f"holds {agents_by_clients:,.0f} agents at {sum(big.connections) / big.n:.2f} each (raise it, and "
        "the file limit, beyond that).",
        f"- Work adds {per_ping:.1f} commands per task round trip: a fleet running T tasks a second uses "
        f"{per_ping:.0f}T commands/s, so at the half-core budget "
        f"{0.5 * throughput:,.0f} commands/s leave room for, e.g., 1,000 idle agents and "
        f"{(0.5 * throughput - 1000 * big.commands_per_s) / per_ping:,.0f} task round trips a second.",
        "",
        f"Command: `{command}`; Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,4,16", help="numbers of agents, one run each")
    p.add_argument("--idle", type=float, default=60.0, help="seconds of the idle window")
    p.add_argument("--rounds", type=int, default=60, help="fan-out rounds (and as many single pings)")
    p.add_argument("--before", type=Path, help="a checkout of the agent before a change: one of its agents, "
                                               "idle, is measured too (e.g. `git archive main | tar -x -C DIR`)")
    p.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    args = p.parse_args()
    before = idle_agent(args.idle, args.before) if args.before else None
    bare = bare_floor(args.idle)
    runs = [measure(int(n), args.idle, args.rounds) for n in args.sizes.split(",")]
    text = report(runs, bare, before, redis_throughput(),
                  " ".join([".venv/bin/python -m bench.fleet", *sys.argv[1:]]))
    print(text)
    if args.write:  # the figures are replaced; the hand-written notes below them are kept
        write_results(RESULTS, "Fleet: what an agent costs the shared Redis, and a manager's fan-out", text)


if __name__ == "__main__":
    main()
