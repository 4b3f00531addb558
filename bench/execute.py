"""execute(query, "print(1)") round trip through AgentClient vs jupyter_client driving ipykernel.

The agent side is the production path: an `agent-worker` process, a kernel made by create_kernels
(container, runner, query interpreter), AgentClient on the manager side. The Jupyter side is a
local ipykernel process (no container, no broker) driven by a blocking jupyter_client; a round
trip there ends when the execute_reply and the `idle` status (all output) have arrived.
Calls alternate in blocks. Then both stream 50 MB of output to the caller.
    usage: .venv/bin/python -m bench.execute [--calls 500] [--block 10] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import start_new_kernel

from agent_client.client import AgentClient
from bench.ping import CELERY, bare_worker_argv
from bench.report import percentile, write_results
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.redis_server import RedisServer

RESULTS = REPO / "bench" / "results" / "execute.md"
KERNEL_IMAGE = "kernel-python:latest"
STREAM_MB = 50
STREAM_CODE = (f"import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range({STREAM_MB} * 1024):\n"
               "    sys.stdout.write(line)\n")


class AgentRunner:
    def __init__(self, client: AgentClient, kernel_id: str, session_id: str) -> None:
        self.client, self.kernel_id, self.session_id = client, kernel_id, session_id

    def streamed(self, code: str, flush_timeout: float = 2.0) -> tuple[str, int]:
        """Run `code` to its end, its output streamed (execute_streaming); returns (stdout, bytes)."""
        kw: dict[str, Any] = {"session_id": self.session_id, "kernel_id": self.kernel_id}
        out: list[str] = []
        size = 0

        def take(kind: str, data: Any) -> None:
            nonlocal size
            size += len(data)
            if size < 1 << 16 and kind == "stdout":
                out.append(data)

        r = self.client.execute_streaming(take, mode="query", code=code, flush_timeout=flush_timeout, **kw)
        while r["status"] == "continued":
            r = self.client.execute_streaming(take, mode="continue", run_id=r["runId"], flush_timeout=flush_timeout,
                                              **kw)
        assert r["status"] == "finished", r
        return "".join(out) if size < 1 << 16 else "", size

    def execute(self, code: str, flush_timeout: float = 2.0) -> tuple[str, int]:
        """Run `code` to its end (looping continue); returns (stdout, bytes of output)."""
        kw: dict[str, Any] = {"session_id": self.session_id, "kernel_id": self.kernel_id}
        r = self.client.call("execute", mode="query", code=code, flush_timeout=flush_timeout, **kw)
        out = [d for t, d in r["console"] if t == "stdout"]
        size = sum(len(d) for _, d in r["console"])
        while r["status"] == "continued":
            r = self.client.call("execute", mode="continue", run_id=r["runId"], flush_timeout=flush_timeout,
                                 **kw)
            size += sum(len(d) for _, d in r["console"])
            if size < 1 << 16:
                out += [d for t, d in r["console"] if t == "stdout"]
        assert r["status"] == "finished", r
        return "".join(out) if size < 1 << 16 else "", size


class JupyterRunner:
    def __init__(self, kc: BlockingKernelClient) -> None:
        self.kc = kc

    def execute(self, code: str) -> tuple[str, int]:
        msg_id = self.kc.execute(code)
        out: list[str] = []
        size = 0
        while True:
            msg = self.kc.get_iopub_msg(timeout=300)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                size += len(msg["content"]["text"])
                if size < 1 << 16:
                    out.append(msg["content"]["text"])
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return ("".join(out) if size < 1 << 16 else ""), size


def measure(calls: int, block: int, warmup: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    redis_server = RedisServer()
    os.environ["AGENT_REDIS_URL"] = redis_server.url
    agent = AgentProcess(new_agent_id("bench"), redis_server.url)
    bare = subprocess.Popen([CELERY, "-A", "bench.bare_app", *bare_worker_argv()], cwd=REPO,
                            stdout=(agent.var_dir / "bare.log").open("wb"), stderr=subprocess.STDOUT)
    client = AgentClient(agent.agent_id, redis_server.url, default_timeout=300)
    bare_sig = client.app.signature("bare.execute_like", queue="bare", routing_key="bare", expires=client.expires)

    def bare_execute(code: str) -> tuple[str, int]:
        reply = bare_sig.clone(kwargs={"code": code}).apply_async().get(timeout=30)
        return reply["console"][0][1], 2
    km, kc = start_new_kernel(kernel_name="python3")
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        agent.wait_alive()
        client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                    raw_configs=[{"image": {"canonical": KERNEL_IMAGE, "is_local": True},
                                  "resource_slots": {"cpu": 1, "mem": "512m"}}], wait=120)
        agent_runner, jupyter_runner = AgentRunner(client, kernel_id, session_id), JupyterRunner(kc)
        runs: dict[str, Callable[[str], tuple[str, int]]] = {
            "execute via AgentClient (agent-worker, kernel container)": agent_runner.execute,
            "jupyter_client + ipykernel (local process)": jupyter_runner.execute,
            "bare Celery task with execute's options (same broker, worker options)": bare_execute,
        }
        for fn in runs.values():
            for _ in range(warmup):
                assert fn("print(1)")[0] == "1\n"
        samples: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        for b in range(calls // block):
            for name in order if b % 2 == 0 else reversed(order):
                for _ in range(block):
                    t0 = time.perf_counter()
                    out = runs[name]("print(1)")
                    samples[name].append(time.perf_counter() - t0)
                    assert out[0] == "1\n"
        stream: dict[str, float] = {}
        for name, fn in (("agent, streamed (execute_streaming)", agent_runner.streamed),
                         ("agent, 1 MiB replies (flush_timeout 0.2 s)", lambda c: agent_runner.execute(c, 0.2)),
                         ("jupyter_client + ipykernel", jupyter_runner.execute)):
            t0 = time.perf_counter()
            _, size = fn(STREAM_CODE)
            stream[name] = time.perf_counter() - t0
            assert size == STREAM_MB << 20, (name, size)
        return samples, stream
    finally:
        try:
            client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            client.close()
            agent.stop()
            bare.terminate()
            bare.wait(30)
            redis_server.stop()


def report(samples: dict[str, list[float]], stream: dict[str, float], command: str) -> str:
    lines = ["| execute(query, \"print(1)\") | calls | p50 ms | p99 ms | mean ms |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, s in samples.items():
        lines.append(f"| {name} | {len(s)} | {percentile(s, 50) * 1e3:.2f} | {percentile(s, 99) * 1e3:.2f} "
                     f"| {statistics.fmean(s) * 1e3:.2f} |")
    agent_s, jup_s, bare_s = samples.values()
    lines += ["", f"agent / jupyter: p50 {percentile(agent_s, 50) / percentile(jup_s, 50):.3f}x, "
                  f"p99 {percentile(agent_s, 99) / percentile(jup_s, 99):.3f}x (target: p50 at most 1.0x)",
              f"agent / bare Celery task: p50 {percentile(agent_s, 50) / percentile(bare_s, 50):.3f}x, "
              f"p99 {percentile(agent_s, 99) / percentile(bare_s, 99):.3f}x (target: p50 at most 1.05x)",
              "", f"| stream {STREAM_MB} MB of stdout to the caller | seconds | MB/s |",
              "| --- | ---: | ---: |"]
    for name, secs in stream.items():
        lines.append(f"| {name} | {secs:.2f} | {STREAM_MB / secs:.1f} |")
    streamed, _, jupyter = stream.values()
    lines += ["", f"streamed / jupyter: {streamed / jupyter:.2f}x (target: at most 1.0x)"]
    lines += ["", f"Command: `{command}`; Python {platform.python_version()}, {os.cpu_count()} cores, "
                  f"{time.strftime('%Y-%m-%d')}."]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=500, help="measured calls of each side")
    p.add_argument("--block", type=int, default=10, help="calls in a row before switching side")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--write", action="store_true", help=f"also write {RESULTS.relative_to(REPO)}")
    args = p.parse_args()
    samples, stream = measure(args.calls, args.block, args.warmup)
    text = report(samples, stream, " ".join([".venv/bin/python -m bench.execute", *sys.argv[1:]]))
    print(text)
    if args.write:  # the figures are replaced; the hand-written notes below them are kept
        write_results(RESULTS, "execute round trip vs Jupyter, and streaming output", text)


if __name__ == "__main__":
    main()
