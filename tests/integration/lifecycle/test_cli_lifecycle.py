"""agentctl kernel list / restart / destroy against a real kernel."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest

from agent_client.cli.lifecycle import image_ref
from agent_client.cli.main import main
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events
from worker.config import AgentSettings
from worker.runtime import host


def agentctl(settings: AgentSettings, redis_url: str, *args: str) -> int:
    return main(["--agent", settings.id, "--redis-url", redis_url, *args])


def test_kernel_list_restart_and_destroy(kernel: Any, settings: AgentSettings, redis_url: str,
                                         docker_client: docker.DockerClient, events: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert agentctl(settings, redis_url, "kernel", "list") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(kernel.kernel_id))
    assert "running" in line and kernel.container_id[:12] in line and "kernel-python:latest" in line

    assert agentctl(settings, redis_url, "kernel", "restart", kernel.kernel_id) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["id"] == kernel.kernel_id and info["container_id"] == host().registry.get(kernel.kernel_id).container_id

    assert agentctl(settings, redis_url, "kernel", "destroy", kernel.kernel_id, "--reason", "idle-timeout") == 0
    assert f"kernel {kernel.kernel_id} destroyed" in capsys.readouterr().out
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "idle-timeout" and ev.payload["session_id"] == kernel.session_id
    assert_host_clean(kernel.kernel_id, docker_client)

    assert agentctl(settings, redis_url, "kernel", "restart", kernel.kernel_id) == 1
    assert "not known" in capsys.readouterr().err


def test_image_ref_names_the_kernel_image() -> None:
    assert image_ref("kernel-python:latest") == {"name": "kernel-python", "tag": "latest", "is_local": True}
    assert image_ref("lablup/python") == {"name": "lablup/python", "tag": "latest", "is_local": True}
