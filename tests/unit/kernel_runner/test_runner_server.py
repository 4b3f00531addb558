"""The runner's server and interpreter handling: quick ops answer while every worker is busy,
requests on one connection are answered in order, and an interpreter's end is noticed and
cleaned up even while processes it forked hold its pipes."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from tests.unit.kernel_runner.conftest import run
from worker.runner_client import RunnerClient


def alive(pid: int) -> bool:
    """Whether `pid` is a process that is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_status_and_interrupt_answer_while_more_requests_wait_than_there_are_workers(
        runner: tuple[RunnerClient, Any]) -> None:
    c, proc = runner
    r = run(c, "query", "import time\nfor _ in range(100): time.sleep(0.1)", flush_timeout=0)
    replies: list[dict[str, Any]] = []

    def wait_on_the_run() -> None:  # each holds a worker for up to 4 s
        replies.append(RunnerClient(c.socket_path).request(
            "execute", timeout=30, mode="continue", run_id=r["runId"], flush_timeout=4))

    waiting = [threading.Thread(target=wait_on_the_run) for _ in range(8)]
    for t in waiting:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert RunnerClient(c.socket_path).request("status", timeout=5)["pid"] == proc.pid
    RunnerClient(c.socket_path).request("interrupt", timeout=5)
    assert time.monotonic() - t0 < 1.0
    for t in waiting:
        t.join(30)
    # The interrupt ended the run: one waiter got its end, the others what came before or nothing.
    statuses = [x["status"] for x in replies]
    assert len(replies) == 8 and statuses.count("finished") == 1
    assert next(x for x in replies if x["status"] == "finished")["exitCode"] == 130


def test_requests_sent_together_on_one_connection_are_answered_in_order(runner: tuple[RunnerClient, Any]) -> None:
    c, proc = runner
    lines = [{"op": "execute", "mode": "query", "code": "print('a')", "flush_timeout": 5},
             {"op": "status"}, "not json", {"op": "execute", "mode": "query", "code": "print('b')",
                                            "flush_timeout": 5}]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(c.socket_path))
        s.sendall(b"".join((x if isinstance(x, str) else json.dumps(x)).encode() + b"\n" for x in lines))
        buf = b""
        while buf.count(b"\n") < 4:
            chunk = s.recv(65536)
            assert chunk, "the runner closed the connection"
            buf += chunk
    a, status, bad, b = (json.loads(x) for x in buf.splitlines())
    assert a["console"] == [["stdout", "a\n"]] and b["console"] == [["stdout", "b\n"]]
    assert status["pid"] == proc.pid
    assert bad["ok"] is False and "JSONDecodeError" in bad["error"]


def test_an_interpreter_that_exits_while_its_forked_child_holds_the_pipes_ends_the_run_at_once(
        runner: tuple[RunnerClient, Any], tmp_path: Path) -> None:
    c, _ = runner
    code = ("import os, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "open('child', 'w').write(str(pid))\n"
            "os._exit(3)")
    t0 = time.monotonic()
    r = run(c, "query", code, flush_timeout=30)
    assert (r["status"], r["exitCode"]) == ("finished", 3) and time.monotonic() - t0 < 5
    assert "[runner: the interpreter exited with code 3; its state is lost]" in r["console"][-1][1]
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while alive(child):  # killed with the interpreter's session
        assert time.monotonic() < deadline, "the forked child outlived its interpreter"
        time.sleep(0.05)
    assert run(c, "query", "print('fresh')")["console"] == [["stdout", "fresh\n"]]


def test_cancel_kills_what_the_query_interpreter_started(runner: tuple[RunnerClient, Any], tmp_path: Path) -> None:
    c, _ = runner
    r = run(c, "query", "import subprocess, time\n"
                        "p = subprocess.Popen(['sleep', '60'])\n"
                        "open('child', 'w').write(str(p.pid))\n"
                        "time.sleep(60)", flush_timeout=0.5)
    assert r["status"] == "continued"
    deadline = time.monotonic() + 5
    while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int((tmp_path / "child").read_text())
    assert c.request("cancel")["cancelled"] is True
    while alive(child):
        assert time.monotonic() < deadline, "the interpreter's subprocess outlived the cancel"
        time.sleep(0.05)
    assert run(c, "query", "print('next')")["console"] == [["stdout", "next\n"]]


def test_user_processes_are_the_oom_killers_first_choice_and_the_runner_is_not(
        runner: tuple[RunnerClient, Any]) -> None:
    c, proc = runner
    r = run(c, "query", "import os, subprocess\n"
                        "print(open('/proc/self/oom_score_adj').read().strip())\n"
                        "_ = os.system('cat /proc/self/oom_score_adj')")
    assert r["console"] == [["stdout", "1000\n1000\n"]]
    r = run(c, "batch", opts={"exec": "cat /proc/self/oom_score_adj"})
    while r["status"] != "finished":
        r = run(c, "continue", run_id=r["runId"])
    assert r["console"] == [["stdout", "1000\n"]]
    assert Path(f"/proc/{proc.pid}/oom_score_adj").read_text().strip() == str(
        int(Path(f"/proc/{os.getpid()}/oom_score_adj").read_text()))
