"""The Docker events watcher: a kernel whose container dies by itself is cleaned and announced once."""

from __future__ import annotations

import time
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events, wait_terminated
from worker.config import AgentSettings
from worker.kernels.watcher import DockerEventWatcher
from worker.runtime import host


def test_docker_kill_from_outside_gives_self_terminated_within_two_seconds(
        kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    killed = time.monotonic()
    docker_client.api.kill(kernel.container_id)
    ev = wait_terminated(events, kernel.kernel_id, timeout=2.0)
    assert time.monotonic() - killed < 2.0
    assert ev.payload["reason"] == "self-terminated" and ev.payload["exit_code"] == 137
    assert ev.payload["session_id"] == kernel.session_id and ev.payload["detail"] is None
    assert_host_clean(kernel.kernel_id, docker_client)


def test_an_oom_kill_shows_in_the_event_of_the_kernel_that_died(
        kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    container = docker_client.containers.get(kernel.container_id)
    hog = container.exec_run(["python3", "-c", "a = bytearray(1 << 30)"])  # over the 256 MiB limit
    assert hog.exit_code == 137
    container.kill()
    ev = wait_terminated(events, kernel.kernel_id, timeout=5.0)
    assert ev.payload["reason"] == "self-terminated" and ev.payload["detail"].startswith("oom-killed")
    assert_host_clean(kernel.kernel_id, docker_client)


def test_execute_racing_the_watcher_on_a_dead_kernel_gives_one_event(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    docker_client.api.kill(kernel.container_id)
    with pytest.raises(RuntimeError, match=r"container has exited|not known|terminating"):
        client.call("execute", session_id=kernel.session_id, kernel_id=kernel.kernel_id, mode="query",
                    code="print(1)")
    wait_terminated(events, kernel.kernel_id)
    time.sleep(0.5)  # whichever of the two came second has had its chance to say it again
    assert [e.payload["reason"] for e in terminated_events(events, kernel.kernel_id)] == ["self-terminated"]
    assert_host_clean(kernel.kernel_id, docker_client)


def test_a_destroyed_kernel_gets_no_self_terminated_from_its_container_dying(
        client: AgentClient, kernel: Any, events: Any) -> None:
    client.call("destroy_kernel", kernel_id=kernel.kernel_id, session_id=kernel.session_id,
                reason="user-requested")
    time.sleep(0.5)
    assert [e.payload["reason"] for e in terminated_events(events, kernel.kernel_id)] == ["user-requested"]


def test_the_watcher_reopens_a_broken_stream_and_stop_unblocks_it(worker: Any, settings: AgentSettings) -> None:
    watcher = DockerEventWatcher(settings.id, lambda: host())
    watcher.start()
    try:
        assert watcher.connected.wait(5)
        watcher._stream.close()  # fault injection: the engine dropped the stream
        deadline = time.monotonic() + 5
        while watcher.connected.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert watcher.connected.wait(5)  # reopened
    finally:
        started = time.monotonic()
        watcher.stop()
    assert time.monotonic() - started < 2 and not watcher._thread.is_alive()
