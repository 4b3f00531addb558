"""The kernel runner run on the host (stdlib python3, as in a kernel): protocol, bounds, recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unit.kernel_runner.conftest import REPO, run
from worker.runner_client import RunnerClient, RunnerRefused


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_status_handshake_and_sigterm_exit_promptly(runner: tuple[RunnerClient, Any]) -> None:
    c, proc = runner
    reply = c.request("status")
    assert reply["pid"] == proc.pid and reply["started_at"] <= time.time() and reply["python"]
    run(c, "query", "x = 1")  # an interpreter child exists too
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0 and time.monotonic() - t0 < 3
    assert not c.socket_path.exists()


def test_large_output_comes_in_bounded_replies_without_loss(runner: tuple[RunnerClient, Any]) -> None:
    c, _ = runner
    r = run(c, "query", "import sys\nfor i in range(30000):\n    sys.stdout.write('%099d\\n' % i)")
    got = [r]
    while r["status"] == "continued":
        r = run(c, "continue", run_id=r["runId"])
        got.append(r)
    out = "".join(d for x in got for _, d in x["console"])
    assert out == "".join(f"{i:099d}\n" for i in range(30000))
    assert len(got) >= 3 and all(sum(len(d) for _, d in x["console"]) <= 1 << 20 for x in got)


def test_uncollected_output_is_bounded_and_the_runner_stays_small(runner: tuple[RunnerClient, Any]) -> None:
    c, proc = runner
    r = run(c, "query", "while True:\n    print('x' * 10000)", flush_timeout=0.1)
    time.sleep(1.0)  # nobody collects: the runner's buffer fills and the writer blocks
    assert rss_kib(proc.pid) < 64 * 1024
    c.request("interrupt")
    while r["status"] == "continued":
        r = run(c, "continue", run_id=r["runId"])
    assert r["status"] == "finished" and r["exitCode"] == 130


def test_a_second_run_is_refused_while_one_is_in_progress(runner: tuple[RunnerClient, Any]) -> None:
    c, _ = runner
    first = run(c, "query", "import time; time.sleep(0.5)", flush_timeout=0)
    with pytest.raises(RunnerRefused, match="still in progress") as e:
        run(c, "query", "print(1)")
    assert e.value.kind == "busy"
    assert run(c, "continue", run_id=first["runId"])["status"] == "finished"
    with pytest.raises(RunnerRefused) as e:
        run(c, "continue", run_id=first["runId"])
    assert e.value.kind == "no-run"
    with pytest.raises(RunnerRefused) as e:
        run(c, "input", "text")
    assert e.value.kind == "no-run"


def test_a_crashed_interpreter_ends_the_run_and_a_fresh_one_takes_the_next(
        runner: tuple[RunnerClient, Any]) -> None:
    c, _ = runner
    run(c, "query", "lost = 1")
    r = run(c, "query", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert (r["status"], r["exitCode"]) == ("finished", 137)
    assert "state is lost" in r["console"][-1][1]
    r = run(c, "query", "print('lost' in globals())")
    assert r["console"] == [["stdout", "False\n"]]


def test_cancel_kills_a_batch_command(runner: tuple[RunnerClient, Any], tmp_path: Path) -> None:
    c, _ = runner
    r = run(c, "batch", opts={"exec": "echo $$ > pid; exec sleep 60"}, flush_timeout=0.3)
    assert r["status"] == "continued"
    deadline = time.monotonic() + 5
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text().strip():
        assert time.monotonic() < deadline, "the batch command did not start"  # a busy machine is slow
        time.sleep(0.05)
    pid = int((tmp_path / "pid").read_text())
    assert c.request("cancel")["cancelled"] is True

    def alive() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except (FileNotFoundError, ProcessLookupError):  # gone between the open and the read
            return False

    while alive():
        assert time.monotonic() < deadline + 5, "batch command still alive"
        time.sleep(0.05)
    assert run(c, "query", "print('next')")["console"] == [["stdout", "next\n"]]


def test_stdout_and_stderr_keep_their_order_and_merge_consecutive_records(
        runner: tuple[RunnerClient, Any]) -> None:
    c, _ = runner
    r = run(c, "query", "import sys\nprint('a'); print('b')\nprint('c', file=sys.stderr)\nprint('d')")
    assert r["console"] == [["stdout", "a\nb\n"], ["stderr", "c\n"], ["stdout", "d\n"]]


def test_client_reuses_connections_and_survives_a_runner_restart(tmp_path: Path) -> None:
    sock = tmp_path / "runner.sock"
    env = dict(os.environ, KERNEL_RUNNER_SOCKET=str(sock), KERNEL_WORK_DIR=str(tmp_path))
    c = RunnerClient(sock)
    pids = []
    for _ in range(2):  # the same client before and after the runner was replaced
        proc = subprocess.Popen([sys.executable, "-I", str(REPO / "runner")], env=env, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 10
            while not sock.exists():
                assert time.monotonic() < deadline
                time.sleep(0.02)
            pids += [c.request("status")["pid"] for _ in range(3)]
        finally:
            proc.terminate()
            proc.wait(10)
    assert len(set(pids[:3])) == 1 and len(set(pids[3:])) == 1 and pids[0] != pids[3]


def wakeups(pid: int) -> int:
    """How often the process's threads have gone to sleep and woken so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def test_an_idle_interpreter_sleeps(runner: tuple[RunnerClient, Any]) -> None:
    """A host holds many idle kernels: between runs the interpreter's threads make no wake-ups
    (its output sender used to poll every 20 ms), the runner only its guard's (its reader of the
    interpreter's frames used to poll twice a second for the interpreter's exit)."""
    c, proc = runner
    assert run(c, "query", "import os; print(os.getpid())")["status"] == "finished"
    child = int(run(c, "query", "print(os.getpid())")["console"][0][1])
    assert f"PPid:\t{proc.pid}\n" in Path(f"/proc/{child}/status").read_text()  # the runner's interpreter
    time.sleep(0.2)  # the last run's frames sent
    before = wakeups(child), wakeups(proc.pid)
    time.sleep(2.0)
    after = wakeups(child), wakeups(proc.pid)
    assert after[0] - before[0] <= 2
    assert after[1] - before[1] <= 3  # the runner: its guard, once a second between runs
    assert run(c, "query", "print('awake', flush=True)")["console"] == [["stdout", "awake\n"]]
