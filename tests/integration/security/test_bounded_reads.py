"""What a kernel prints or stores never comes back unbounded: get_logs returns at most a tail,
Docker rotates the container's log, and list_files of a huge directory stops and says so."""

from __future__ import annotations

import json
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from worker.runtime import host


def test_get_logs_returns_at_most_the_configured_tail(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    c = docker_client.containers.get(kernel.container_id)
    # the kernel's user floods the container's own stdout (its log), as any process of it can
    flood = "head -c 300000 /dev/zero | tr '\\0' x > /proc/1/fd/1; echo THE-END > /proc/1/fd/1"
    rc, _ = c.exec_run(["sh", "-c", flood], user="1000:1000")
    assert rc == 0
    monkeypatch.setattr(host().settings, "max_logs_size", 10_000)
    reply = client.call("get_logs", kernel_id=kernel.kernel_id)
    assert reply["truncated"] is True and len(reply["logs"].encode()) <= 10_000
    assert reply["logs"].endswith("THE-END\n")  # the tail, not the head
    log_config = c.attrs["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}


def test_list_files_of_a_huge_directory_stops_at_the_limit_and_says_so(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    c = docker_client.containers.get(kernel.container_id)
    rc, out = c.exec_run(["sh", "-c", "mkdir /home/work/many && cd /home/work/many && seq 1 3000 | xargs touch"],
                         user="1000:1000")
    assert rc == 0, out
    monkeypatch.setattr(host().settings, "max_list_entries", 500)
    reply = client.call("list_files", kernel_id=kernel.kernel_id, path="/home/work/many")
    assert reply["truncated"] is True and reply["errors"] == ""
    assert len(json.loads(reply["files"])) == 500
