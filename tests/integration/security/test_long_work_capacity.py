"""Control operations answer within a second while every long-work slot is busy: long tasks hold
slots of their own (worker/capacity.py), and those that find none wait in the queue, not in a thread."""

from __future__ import annotations

import time
from typing import Any

import pytest

from agent_client.client import AgentClient
from worker.runtime import host

QUICK = 1.0  # seconds a control operation may take while long work fills its slots


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def test_control_operations_answer_while_long_executes_fill_every_slot(
        client: AgentClient, make_kernel: Any) -> None:
    busy, other = make_kernel(), make_kernel()
    first = client.call("execute", session_id=busy.session_id, kernel_id=busy.kernel_id, mode="query",
                        code="import time; time.sleep(60)", opts={}, flush_timeout=0.1)
    assert first["status"] == "continued"
    slots = host().long_work.slots
    # each waits up to 20 s for output that never comes: more of them than there are slots
    waiting = [client.send("execute", session_id=busy.session_id, kernel_id=busy.kernel_id, mode="continue",
                           run_id=first["runId"], flush_timeout=20) for _ in range(slots + 4)]
    deadline = time.monotonic() + 10
    while host().long_work.used < slots and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host().long_work.used == slots
    try:
        took = {
            "ping": timed(lambda: client.call("ping", msg="x", wait=5)),
            "list_kernels": timed(lambda: client.call("list_kernels", wait=5)),
            "ping_kernel": timed(lambda: client.call("ping_kernel", kernel_id=other.kernel_id, wait=5)),
            "interrupt_kernel": timed(lambda: client.call("interrupt_kernel", kernel_id=other.kernel_id, wait=5)),
            "cancel_run": timed(lambda: client.call("cancel_run", kernel_id=other.kernel_id, wait=5)),
            "get_logs": timed(lambda: client.call("get_logs", kernel_id=other.kernel_id, wait=5)),
            "destroy_kernel": timed(lambda: client.call("destroy_kernel", kernel_id=other.kernel_id,
                                                        session_id=other.session_id, wait=5)),
        }
        assert {op: t for op, t in took.items() if t > QUICK} == {}
    finally:
        assert client.call("cancel_run", kernel_id=busy.kernel_id, wait=5) is True
    # every waiting execute ends once the run is cancelled (those that waited for a slot find no run)
    for r in waiting:
        outcome = r.get(timeout=30, propagate=False)
        assert isinstance(outcome, dict) or "no run" in str(outcome)
    assert host().long_work.used == 0


@pytest.mark.parametrize("op", ["ping"])
def test_a_quick_operation_takes_no_long_work_slot(client: AgentClient, op: str) -> None:
    client.call(op, msg="x")
    assert host().long_work.used == 0
