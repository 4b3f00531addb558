"""trigger_batch_execution: runs in the background, reports session_success / session_failure."""

from __future__ import annotations

import time
from typing import Any

from agent_client.client import AgentClient
from worker.state.kernels import KernelRecord


def wait_for_outcome(events: Any, session_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in events.named("session_success", "session_failure")
                 if e.payload["session_id"] == session_id]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no session outcome for {session_id} within {timeout}s")


def trigger(client: AgentClient, k: KernelRecord, code: str, **kw: Any) -> None:
    # send + get: `call` would take the operation's `timeout` argument as its own wait limit
    result = client.send("trigger_batch_execution", session_id=k.session_id, kernel_id=k.kernel_id,
                         code=code, **kw)
    assert result.get(timeout=30) is None


def test_batch_session_success(client: AgentClient, shared_kernel: KernelRecord, events: Any) -> None:
    trigger(client, shared_kernel, "echo done > batch-out.txt")
    [outcome] = wait_for_outcome(events, shared_kernel.session_id)
    assert (outcome.name, outcome.payload["reason"], outcome.payload["exit_code"]) == (
        "session_success", "task-finished", 0)
    assert (shared_kernel.work_dir / "batch-out.txt").read_text() == "done\n"


def test_batch_session_failure_carries_the_exit_code(client: AgentClient, shared_kernel: KernelRecord,
                                                     events: Any) -> None:
    trigger(client, shared_kernel, "python3 -c 'raise SystemExit(5)'")
    [outcome] = wait_for_outcome(events, shared_kernel.session_id)
    assert (outcome.name, outcome.payload["reason"], outcome.payload["exit_code"]) == (
        "session_failure", "task-failed", 5)


def test_batch_session_timeout_ends_the_run_with_its_own_reason(
        client: AgentClient, shared_kernel: KernelRecord, events: Any) -> None:
    started = time.monotonic()
    trigger(client, shared_kernel, "sleep 60", timeout=1.0)
    [outcome] = wait_for_outcome(events, shared_kernel.session_id)
    assert (outcome.name, outcome.payload["reason"], outcome.payload["exit_code"]) == (
        "session_failure", "task-timeout", -2)
    assert time.monotonic() - started < 10
    # the run was killed: the kernel takes new work at once
    r = client.call("execute", session_id=shared_kernel.session_id, kernel_id=shared_kernel.kernel_id,
                    mode="query", code="print('free')")
    assert r["console"] == [["stdout", "free\n"]]
