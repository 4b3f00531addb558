"""Round trip of agent.ping through AgentClient against a bare Celery echo task, in the same run.

Both workers run at once on the same throwaway Redis with the same worker options (threads pool,
celeryconfig, concurrency, task events); calls alternate in blocks so drift hits both alike.
    usage: .venv/bin/python -m bench.ping [--calls 1000] [--block 10] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from agent_client.client import AgentClient, make_client_app
from bench.report import percentile, write_results
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.redis_server import RedisServer
from worker.main import worker_argv

RESULTS = REPO / "bench" / "results" / "ping.md"
CELERY = str(Path(sys.executable).parent / "celery")


def bare_worker_argv() -> list[str]:
    """The agent's own worker options, with the bare app's name and queue."""
    argv = worker_argv([])
    argv[argv.index("-n") + 1] = "bare@bench"
    argv[argv.index("-Q") + 1] = "bare"
    return argv


def measure(calls: int, block: int, warmup: int) -> dict[str, list[float]]:
    redis_server = RedisServer()
    os.environ["AGENT_REDIS_URL"] = redis_server.url
    agent = AgentProcess(new_agent_id("bench"), redis_server.url)
    bare_log = (agent.var_dir / "bare.log").open("wb")
    bare = subprocess.Popen([CELERY, "-A", "bench.bare_app", *bare_worker_argv()], cwd=REPO,
                            stdout=bare_log, stderr=subprocess.STDOUT)
    app = make_client_app(redis_server.url)
    client = AgentClient(agent.agent_id, redis_server.url, app=app)
    bare_sig = app.signature("bare.echo", queue="bare", routing_key="bare", expires=client.expires)
    runs: dict[str, Callable[[str], object]] = {
        "agent.ping (AgentClient)": client.ping,
        "bare echo (Celery)": lambda msg: bare_sig.clone(kwargs={"msg": msg}).apply_async().get(timeout=30),
    }
    try:
        agent.wait_alive()
        for fn in runs.values():
            for i in range(warmup):
                assert fn(f"warm-{i}") == f"warm-{i}"
        samples: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        for b in range(calls // block):
            for name in order if b % 2 == 0 else reversed(order):
                for i in range(block):
                    msg = f"m{b}-{i}"
                    t0 = time.perf_counter()
                    result = runs[name](msg)
                    samples[name].append(time.perf_counter() - t0)
                    assert result == msg
        return samples
    finally:
        client.close()
        app.close()
        bare.terminate()
        bare.wait(30)
        bare_log.close()
        agent.stop()
        redis_server.stop()


def report(samples: dict[str, list[float]], command: str) -> str:
    lines = [
        "| task | calls | p50 ms | p99 ms | mean ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, s in samples.items():
        lines.append(f"| {name} | {len(s)} | {percentile(s, 50) * 1e3:.2f} | {percentile(s, 99) * 1e3:.2f} "
                     f"| {statistics.fmean(s) * 1e3:.2f} |")
    agent_s, bare_s = samples.values()
    lines += [
        "",
        f"agent / bare: p50 {percentile(agent_s, 50) / percentile(bare_s, 50):.3f}x, "
        f"p99 {percentile(agent_s, 99) / percentile(bare_s, 99):.3f}x, "
        f"mean {statistics.fmean(agent_s) / statistics.fmean(bare_s):.3f}x (target: at most 1.1x)",
        "",
        f"Command: `{command}`; {platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1000, help="measured calls of each task")
    p.add_argument("--block", type=int, default=10, help="calls in a row before switching task")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    args = p.parse_args()
    samples = measure(args.calls, args.block, args.warmup)
    text = report(samples, " ".join([".venv/bin/python -m bench.ping", *sys.argv[1:]]))
    print(text)
    if args.write:  # the figures are replaced; the hand-written notes below them are kept
        write_results(RESULTS, "agent.ping round trip vs a bare Celery task", text)


if __name__ == "__main__":
    main()
