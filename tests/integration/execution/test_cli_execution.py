"""agentctl kernel exec / logs / complete against a real kernel."""

from __future__ import annotations

import io

import pytest

from agent_client.cli.main import main
from worker.config import AgentSettings
from worker.state.kernels import KernelRecord


def agentctl(settings: AgentSettings, redis_url: str, *args: str) -> int:
    return main(["--agent", settings.id, "--redis-url", redis_url, *args])


def test_kernel_exec_streams_output_and_returns_the_exit_code(
        worker: object, shared_kernel: KernelRecord, settings: AgentSettings, redis_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
    assert agentctl(settings, redis_url, "kernel", "exec", shared_kernel.kernel_id, code) == 0
    assert capsys.readouterr().out == "tick 0\ntick 1\ntick 2\n"
    with pytest.raises(SystemExit) as e:
        agentctl(settings, redis_url, "kernel", "exec", shared_kernel.kernel_id, "raise SystemExit(4)")
    assert e.value.code == 4


def test_kernel_exec_answers_input_from_stdin(
        worker: object, shared_kernel: KernelRecord, settings: AgentSettings, redis_url: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("grace\n"))
    code = "print('hi', input('? '))"
    assert agentctl(settings, redis_url, "kernel", "exec", shared_kernel.kernel_id, code) == 0
    assert capsys.readouterr().out == "? hi grace\n"


def test_kernel_batch_complete_and_logs(worker: object, shared_kernel: KernelRecord, settings: AgentSettings,
                                        redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert agentctl(settings, redis_url, "kernel", "exec", "--mode", "batch", "--build", "echo b",
                    shared_kernel.kernel_id, "echo e") == 0
    captured = capsys.readouterr()
    assert captured.out == "b\ne\n" and "[build-finished: exit code 0]" in captured.err
    agentctl(settings, redis_url, "kernel", "exec", shared_kernel.kernel_id, "walrus_size = 1")
    capsys.readouterr()
    assert agentctl(settings, redis_url, "kernel", "complete", shared_kernel.kernel_id, "walrus_s") == 0
    assert capsys.readouterr().out == "walrus_size\n"
    assert agentctl(settings, redis_url, "kernel", "logs", shared_kernel.kernel_id) == 0
