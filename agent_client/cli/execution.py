"""`agentctl kernel exec|logs|complete`: run code in a kernel and stream its output as it comes."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_client.client import AgentClient

NIL_SESSION = "00000000-0000-0000-0000-000000000000"
STEP_STATUSES = ("continued", "clean-finished", "build-finished")


Console = list[list[Any]]


@dataclass(frozen=True)
class RunEnd:
    run_id: str | None
    status: str
    exit_code: int


def show_console(console: Console) -> None:
    for kind, data in console:
        out = sys.stderr if kind == "stderr" else sys.stdout
        out.write(data if isinstance(data, str) else json.dumps([kind, data]) + "\n")
        out.flush()


def stream_run(c: AgentClient, kernel_id: str, session_id: str, mode: str, code: str,
               opts: dict[str, Any], flush_timeout: float, show: Callable[[Console], None]) -> RunEnd:
    """Start a run and loop `continue` until it ends, passing its output to `show` as it comes and
    answering input() from our stdin.

    The first ^C interrupts the kernel's code (the run goes on to its end); a second one cancels
    the run.
    """
    run_id: str | None = None
    interrupted = False
    while True:
        try:
            r = c.call("execute", session_id=session_id, kernel_id=kernel_id, mode=mode, code=code,
                       opts=opts, run_id=run_id, flush_timeout=flush_timeout)
        except KeyboardInterrupt:
            if interrupted or run_id is None:
                c.call("cancel_run", kernel_id=kernel_id)
                return RunEnd(run_id, "cancelled", 130)
            interrupted = True
            c.call("interrupt_kernel", kernel_id=kernel_id)
            mode, code = "continue", ""
            continue
        run_id = r["runId"]
        show(r["console"])
        status = r["status"]
        if status in STEP_STATUSES:
            if status != "continued":
                show([["stderr", f"[{status}: exit code {r['exitCode']}]\n"]])
            mode, code = "continue", ""
        elif status == "waiting-input":
            options = r.get("options") or {}
            code = getpass.getpass("") if options.get("is_password") else sys.stdin.readline().rstrip("\n")
            mode = "input"
        else:
            return RunEnd(run_id, status, int(r["exitCode"]) if r["exitCode"] is not None else 1)


def kernel_session(c: AgentClient, kernel_id: str) -> str:
    """The session of `kernel_id` as its host knows it (the nil UUID when the host does not know it)."""
    return next((k["session_id"] for k in c.call("list_kernels") if k["kernel_id"] == kernel_id), NIL_SESSION)


def cmd_exec(c: AgentClient, a: argparse.Namespace) -> None:
    code = sys.stdin.read() if a.code == "-" else a.code
    opts: dict[str, Any] = {}
    if a.mode == "batch":
        opts = {"clean": a.clean or "", "build": a.build or "", "exec": code}
    session = a.session or kernel_session(c, a.kernel_id)
    collected: Console = []
    end = stream_run(c, a.kernel_id, session, a.mode, code, opts, a.flush_timeout,
                     collected.extend if a.out.json else show_console)
    if a.out.json:
        a.out.result({"kernel_id": a.kernel_id, "run_id": end.run_id, "status": end.status,
                      "exit_code": end.exit_code, "console": collected})
    elif end.status not in ("finished", "cancelled"):
        print(f"[{end.status}]", file=sys.stderr)
    if end.exit_code:
        raise SystemExit(end.exit_code)


def cmd_logs(c: AgentClient, a: argparse.Namespace) -> None:
    logs = c.call("get_logs", kernel_id=a.kernel_id)["logs"]
    a.out.result({"kernel_id": a.kernel_id, "logs": logs}, logs.rstrip("\n"))


def cmd_complete(c: AgentClient, a: argparse.Namespace) -> None:
    reply = c.call("get_completions", kernel_id=a.kernel_id, text=a.text, opts={})
    a.out.result(reply["suggestions"], "\n".join(reply["suggestions"]))


def add_execution_commands(kernel_sub: Any) -> None:
    """Add exec, logs and complete under `agentctl kernel`."""
    ex = kernel_sub.add_parser("exec", help="run code in a kernel, streaming its output")
    ex.add_argument("kernel_id")
    ex.add_argument("code", help="code to run, or - to read it from stdin")
    ex.add_argument("--session", help="session id carried by the execution events (default: the kernel's)")
    ex.add_argument("--mode", choices=["query", "batch"], default="query",
                    help="query: Python in the kernel's interpreter; batch: a shell command")
    ex.add_argument("--build", help="batch mode: build command run first")
    ex.add_argument("--clean", help="batch mode: clean command run before the build")
    ex.add_argument("--flush-timeout", type=float, default=0.2, help="seconds per output chunk")
    ex.set_defaults(handler=cmd_exec)
    logs = kernel_sub.add_parser("logs", help="the kernel container's stdout and stderr")
    logs.add_argument("kernel_id")
    logs.set_defaults(handler=cmd_logs)
    comp = kernel_sub.add_parser("complete", help="completions of the end of TEXT in the kernel")
    comp.add_argument("kernel_id")
    comp.add_argument("text")
    comp.set_defaults(handler=cmd_complete)
