"""execute through the real worker into a real kernel: modes, statuses, events, errors."""

from __future__ import annotations

import time
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from contract.execution import ExecuteReq
from worker import execution
from worker.config import AgentSettings, load_settings
from worker.runtime import connect, host
from worker.state.kernels import KernelRecord


def execute(client: AgentClient, k: KernelRecord, mode: str, code: str = "", **kw: Any) -> dict[str, Any]:
    return dict(client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode=mode, code=code,
                            **kw))


def no_destroy(kernel_id: str, session_id: str, reason: object) -> None:
    raise AssertionError(f"kernel {kernel_id} was to be destroyed ({reason})")


def text(result: dict[str, Any], kind: str = "stdout") -> str:
    return "".join(data for t, data in result["console"] if t == kind)


def test_execute_print_finishes_with_output_and_events(client: AgentClient, shared_kernel: KernelRecord,
                                                       events: Any) -> None:
    r = execute(client, shared_kernel, "query", "print('hello')\nprint('world')")
    assert r["status"] == "finished" and r["exitCode"] == 0
    assert r["console"] == [["stdout", "hello\nworld\n"]]
    assert r["files"] == [] and r["runId"]
    names = [e.name for e in events.named("execution_started", "execution_finished")]
    assert names == ["execution_started", "execution_finished"]
    assert all(e.payload["session_id"] == shared_kernel.session_id for e in events.named("execution_started"))


def test_execute_exception_puts_traceback_on_stderr_with_exit_code_1(client: AgentClient,
                                                                      shared_kernel: KernelRecord) -> None:
    r = execute(client, shared_kernel, "query", "print('before')\n{}['missing']")
    assert r["exitCode"] == 1
    assert r["console"][0] == ["stdout", "before\n"]
    err = text(r, "stderr")
    assert err.startswith("Traceback") and "KeyError: 'missing'" in err and 'File "<input>", line 2' in err


@pytest.mark.parametrize(("code", "exit_code"), [("raise SystemExit(7)", 7), ("import sys; sys.exit()", 0),
                                                 ("raise SystemExit('bye')", 1)])
def test_execute_system_exit_gives_its_code_and_keeps_the_kernel(
        client: AgentClient, shared_kernel: KernelRecord, code: str, exit_code: int) -> None:
    r = execute(client, shared_kernel, "query", code)
    assert (r["status"], r["exitCode"]) == ("finished", exit_code)
    assert text(execute(client, shared_kernel, "query", "print(2 + 2)")) == "4\n"


def test_execute_long_loop_returns_continued_chunks_then_finished(client: AgentClient,
                                                                  shared_kernel: KernelRecord) -> None:
    code = "import time\nfor i in range(6):\n    print(i, flush=True)\n    time.sleep(0.25)"
    r = execute(client, shared_kernel, "query", code, flush_timeout=0.4)
    results = [r]
    while r["status"] == "continued":
        r = execute(client, shared_kernel, "continue", run_id=r["runId"], flush_timeout=0.4)
        results.append(r)
    assert [x["status"] for x in results][-1] == "finished"
    assert results[0]["status"] == "continued" and len(results) >= 3
    assert "".join(text(x) for x in results) == "".join(f"{i}\n" for i in range(6))
    assert {x["runId"] for x in results} == {results[0]["runId"]}


def test_input_waits_then_the_next_execute_in_input_mode_feeds_it(client: AgentClient,
                                                                   shared_kernel: KernelRecord) -> None:
    r = execute(client, shared_kernel, "query", "name = input('who? ')\nprint('hi', name)")
    assert r["status"] == "waiting-input"
    assert r["options"]["is_password"] is False and text(r) == "who? "
    r = execute(client, shared_kernel, "input", "ada", run_id=r["runId"])
    assert (r["status"], r["exitCode"], text(r)) == ("finished", 0, "hi ada\n")


def test_interrupt_stops_an_endless_loop_and_the_kernel_stays_usable(client: AgentClient,
                                                                    shared_kernel: KernelRecord) -> None:
    execute(client, shared_kernel, "query", "kept = 'still here'")
    r = execute(client, shared_kernel, "query", "while True:\n    pass", flush_timeout=0.2)
    assert r["status"] == "continued"
    assert client.call("interrupt_kernel", kernel_id=shared_kernel.kernel_id) is None
    r = execute(client, shared_kernel, "continue", run_id=r["runId"], flush_timeout=10)
    assert r["status"] == "finished" and "KeyboardInterrupt" in text(r, "stderr")
    assert text(execute(client, shared_kernel, "query", "print(kept)")) == "still here\n"


def test_completion_finds_a_name_defined_in_an_earlier_execution(client: AgentClient,
                                                                shared_kernel: KernelRecord) -> None:
    execute(client, shared_kernel, "query", "zebra_count = 3")
    r = client.call("get_completions", kernel_id=shared_kernel.kernel_id, text="print(zebra_c", opts={})
    assert r == {"status": "finished", "suggestions": ["zebra_count"]}
    r = client.call("get_completions", kernel_id=shared_kernel.kernel_id, text="zebra_count.bit_l", opts={})
    assert [s.rstrip("()") for s in r["suggestions"]] == ["zebra_count.bit_length"]


def test_continue_after_agent_restart_returns_the_rest_of_the_run(client: AgentClient,
                                                                  shared_kernel: KernelRecord) -> None:
    code = "import time\nfor i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.2)"
    first = execute(client, shared_kernel, "query", code, flush_timeout=0.3)
    assert first["status"] == "continued"
    fresh = connect(load_settings())  # a restarted agent: new connections, nothing in memory
    try:
        rest, r = [], first
        while r["status"] == "continued":
            r = execution.execute(fresh, ExecuteReq(session_id=shared_kernel.session_id,
                                                    kernel_id=shared_kernel.kernel_id, mode="continue",
                                                    run_id=first["runId"], flush_timeout=5), no_destroy)
            rest.append(text(r))
    finally:
        fresh.close()
    assert r["status"] == "finished"
    assert text(first) + "".join(rest) == "".join(f"line {i}\n" for i in range(5))


def test_batch_build_and_exec_report_their_exit_codes(client: AgentClient,
                                                      shared_kernel: KernelRecord) -> None:
    opts = {"build": "echo building > built.txt; cat built.txt; exit 0", "exec": "cat built.txt; exit 3"}
    r = execute(client, shared_kernel, "batch", opts=opts)
    assert (r["status"], r["exitCode"], text(r)) == ("build-finished", 0, "building\n")
    r = execute(client, shared_kernel, "continue", run_id=r["runId"])
    assert (r["status"], r["exitCode"], text(r)) == ("finished", 3, "building\n")
    assert (shared_kernel.work_dir / "built.txt").read_text() == "building\n"
    r = execute(client, shared_kernel, "batch", opts={"build": "echo oops >&2; exit 2", "exec": "echo never"})
    assert (r["status"], r["exitCode"], text(r, "stderr")) == ("build-finished", 2, "oops\n")
    r = execute(client, shared_kernel, "continue", run_id=r["runId"])
    assert (r["status"], r["exitCode"], text(r)) == ("finished", 127, "")


@pytest.mark.parametrize(("args", "field"), [
    ({"mode": "shell"}, "mode"), ({"mode": "query", "flush_timeout": -1}, "flush_timeout")])
def test_execute_refuses_bad_input_naming_the_field(client: AgentClient, shared_kernel: KernelRecord,
                                                    args: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        client.call("execute", session_id=shared_kernel.session_id, kernel_id=shared_kernel.kernel_id, **args)


def test_execute_refuses_code_over_max_code_size(client: AgentClient, shared_kernel: KernelRecord,
                                                 settings: AgentSettings, events: Any) -> None:
    with pytest.raises(ValueError, match="max_code_size"):
        execute(client, shared_kernel, "query", "#" * (settings.max_code_size + 1))
    assert events.named("execution_started") == []


def test_execute_in_an_unknown_kernel_raises_runtime_error(client: AgentClient, unique: str) -> None:
    with pytest.raises(RuntimeError, match="not known"):
        client.call("execute", session_id="00000000-0000-0000-0000-000000000000",
                    kernel_id="00000000-0000-0000-0000-0000000000aa", mode="query", code="1")


def test_exec_timeout_reports_the_timeout_and_destroys_the_kernel(
        client: AgentClient, own_kernel: KernelRecord, events: Any,
        docker_client: docker.DockerClient) -> None:
    r = execute(client, own_kernel, "query", "import time\ntime.sleep(30)", opts={"exec_timeout": 0.5},
                flush_timeout=10)
    assert r["status"] == "exec-timeout"
    assert [e.name for e in events.named("execution_timeout")] == ["execution_timeout"]
    deadline = time.monotonic() + 30
    while not events.named("kernel_terminated"):
        assert time.monotonic() < deadline, "the kernel was not destroyed"
        time.sleep(0.1)
    [terminated] = events.named("kernel_terminated")
    assert terminated.payload["kernel_id"] == own_kernel.kernel_id
    assert terminated.payload["reason"] == "exec-timeout"
    label = f"ai.backend.kernel-id={own_kernel.kernel_id}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []


def test_execute_in_a_dead_container_raises_and_cleans_the_kernel_with_one_event(
        client: AgentClient, own_kernel: KernelRecord, docker_client: docker.DockerClient,
        events: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # the Docker events watcher would clean the kernel first: blind it so execute finds the dead container
    monkeypatch.setattr("worker.kernels.watcher.clean_dead_kernel", lambda *a, **kw: False)
    docker_client.containers.get(own_kernel.container_id).kill()
    with pytest.raises(RuntimeError, match="container has exited"):
        execute(client, own_kernel, "query", "print(1)")
    terminated = events.named("kernel_terminated")
    assert [e.payload["kernel_id"] for e in terminated] == [own_kernel.kernel_id]
    assert terminated[0].payload["reason"] == "self-terminated" and terminated[0].payload["exit_code"] == 137
    assert events.named("execution_cancelled")
    assert host().registry.find(own_kernel.kernel_id) is None
    label = f"ai.backend.kernel-id={own_kernel.kernel_id}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []


def test_get_logs_and_ping_kernel(client: AgentClient, shared_kernel: KernelRecord) -> None:
    execute(client, shared_kernel, "query", "import os; os._exit(3)")
    logs = client.call("get_logs", kernel_id=shared_kernel.kernel_id)
    assert "query interpreter exited with code 3" in logs["logs"]
    t0 = time.time()
    pong = client.call("ping_kernel", kernel_id=shared_kernel.kernel_id)
    assert pong["started_at"] < t0 and 0 < pong["rtt"] < 5
    assert client.call("ping_kernel", kernel_id="00000000-0000-0000-0000-0000000000bb") is None


@pytest.mark.parametrize(("operation", "args"), [("interrupt_kernel", {}), ("get_logs", {}),
                                                 ("get_completions", {"text": "pri", "opts": {}})])
def test_kernel_operations_on_an_unknown_kernel_raise_key_error(client: AgentClient, operation: str,
                                                                args: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="not known"):
        client.call(operation, kernel_id="00000000-0000-0000-0000-0000000000dd", **args)
