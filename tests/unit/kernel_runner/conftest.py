"""The runner started on the host (stdlib python3, as in a kernel), on a socket in a temporary
directory. Not the child of a container's init, it does not watch memory and pids limits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from worker.runner_client import RunnerClient

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[tuple[RunnerClient, subprocess.Popen[bytes]]]:
    sock = tmp_path / "runner.sock"
    env = dict(os.environ, KERNEL_RUNNER_SOCKET=str(sock), KERNEL_WORK_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-I", str(REPO / "runner")], env=env, cwd=tmp_path,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "runner did not start"
        time.sleep(0.02)
    yield RunnerClient(sock), proc
    proc.terminate()
    proc.wait(10)


def run(c: RunnerClient, mode: str, code: str = "", **kw: Any) -> dict[str, Any]:
    kw.setdefault("flush_timeout", 10.0)
    return c.request("execute", timeout=60, mode=mode, code=code, **kw)


