"""`agentctl kernel create` drives create_kernels and shows progress as it comes."""

from __future__ import annotations

import json

import docker
import pytest

from agent_client.cli import main as cli
from agent_client.client import AgentClient
from worker.config import AgentSettings
from worker.runtime import host


def test_agentctl_kernel_create_prints_progress_and_the_created_kernels(
        client: AgentClient, kernel_image: str, settings: AgentSettings, redis_url: str,
        docker_client: docker.DockerClient, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["--agent", settings.id, "--redis-url", redis_url, "kernel", "create", kernel_image,
                   "--local", "--mem", "128m", "--env", "WHO=cli"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    made = json.loads(out)
    [kernel] = made["kernels"]
    try:
        assert "preparing" in err and "creating" in err and "started" in err
        container = docker_client.containers.get(kernel["container_id"])
        assert container.status == "running"
        assert "WHO=cli" in (host().settings.scratch_dir / kernel["id"] / "config" / "environ.txt").read_text()
    finally:
        client.call("destroy_kernel", kernel_id=kernel["id"], session_id=made["session_id"])


def test_agentctl_kernel_create_reports_a_refusal_without_a_traceback(
        worker: object, settings: AgentSettings, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["--agent", settings.id, "--redis-url", redis_url, "kernel", "create", "kernel-python:latest",
                   "--local", "--cpu", "1", "--mem", "-5"])
    _, err = capsys.readouterr()
    assert rc == 1
    assert err.strip().splitlines()[-1].startswith("agentctl: ValueError:") and "mem" in err
