"""The runner needs only the image's own python3, 3.9 or newer: a Debian bullseye (Python 3.9) kernel."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import REPO
from tests.integration.execution.conftest import create_kernel, destroy_kernel
from worker.state.kernels import KernelRecord


@pytest.fixture(scope="module")
def python39_image(docker_engine: object) -> str:
    """Debian bullseye with its python3 (3.9), built offline like the main kernel image (cached)."""
    env = {**os.environ, "KERNEL_IMAGE_SUITE": "bullseye"}
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh"), "kernel-python39"], check=True, env=env,
                   capture_output=True)
    return "kernel-python39:latest"


@pytest.fixture(scope="module")
def old_kernel(module_client: AgentClient, python39_image: str, docker_engine: docker.DockerClient
               ) -> Iterator[KernelRecord]:
    record = create_kernel(module_client, python39_image)
    yield record
    destroy_kernel(module_client, docker_engine, record)


def run(client: AgentClient, k: KernelRecord, mode: str, code: str = "", **opts: str) -> list[dict[str, Any]]:
    """Every result of one run, through its `continue`s, until it has finished."""
    results = [client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode=mode, code=code,
                           opts=opts)]
    while results[-1]["status"] != "finished":
        results.append(client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="continue",
                                   run_id=results[-1]["runId"]))
    return results


def test_query_mode_keeps_its_namespace_and_reports_exceptions_on_python_3_9(
        module_client: AgentClient, old_kernel: KernelRecord) -> None:
    [first] = run(module_client, old_kernel, "query", "import sys; x = 6 * 7; print(sys.version_info[:2])")
    assert first["console"] == [["stdout", "(3, 9)\n"]]
    assert run(module_client, old_kernel, "query", "print(x)")[-1]["console"] == [["stdout", "42\n"]]
    failed = run(module_client, old_kernel, "query", "1/0")[-1]
    assert failed["exitCode"] == 1 and "ZeroDivisionError" in str(failed["console"])


def test_batch_mode_and_completions_work_on_python_3_9(module_client: AgentClient, old_kernel: KernelRecord) -> None:
    results = run(module_client, old_kernel, "batch", build="echo built", exec="exit 3")
    statuses = [r["status"] for r in results]
    assert "build-finished" in statuses and statuses[-1] == "finished" and results[-1]["exitCode"] == 3
    completions = module_client.call("get_completions", kernel_id=old_kernel.kernel_id, text="import sy")
    assert "sys" in completions["suggestions"]
