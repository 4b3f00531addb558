"""destroy_kernel against real Docker: every path leaves the host clean and says kernel_terminated once."""

from __future__ import annotations

import dataclasses
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import create_many, terminated_events
from worker.kernels.locks import held_count
from worker.runtime import host


def test_destroy_stops_the_container_and_releases_everything_with_one_event(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    h = host()
    assert h.allocator.of(kernel.kernel_id) is not None and kernel.kernel_id in h.ports.kernels()
    started = time.monotonic()
    client.call("destroy_kernel", kernel_id=kernel.kernel_id, session_id=kernel.session_id,
                reason="idle-timeout")
    assert time.monotonic() - started < 5  # no stop grace
    assert_host_clean(kernel.kernel_id, docker_client)
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "idle-timeout" and ev.payload["session_id"] == kernel.session_id
    assert ev.payload["exit_code"] == 137  # SIGKILL, as `docker rm -f`
    time.sleep(0.3)  # the container's `die` event has been seen: the watcher said nothing more
    assert len(terminated_events(events, kernel.kernel_id)) == 1


def test_destroy_without_a_reason_says_user_requested_and_suppress_events_says_nothing(
        client: AgentClient, make_kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    a, b = make_kernel(), make_kernel()
    client.call("destroy_kernel", kernel_id=a.kernel_id, session_id=a.session_id)
    client.call("destroy_kernel", kernel_id=b.kernel_id, session_id=b.session_id, suppress_events=True)
    assert [e.payload["reason"] for e in terminated_events(events, a.kernel_id)] == ["user-requested"]
    assert terminated_events(events, b.kernel_id) == []
    for k in (a, b):
        assert_host_clean(k.kernel_id, docker_client)


def test_destroying_an_unknown_kernel_says_already_terminated_unless_suppressed(
        client: AgentClient, events: Any) -> None:
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, reason="user-requested")
    [ev] = terminated_events(events, kernel_id)
    assert ev.payload["reason"] == "already-terminated" and ev.payload["session_id"] == session_id
    other = str(uuid.uuid4())
    client.call("destroy_kernel", kernel_id=other, session_id=session_id, suppress_events=True)
    assert terminated_events(events, other) == []


@pytest.mark.parametrize(("args", "message"), [
    ({"reason": "bored"}, "reason"),
    ({"kernel_id": "not-a-uuid"}, "kernel_id"),
    ({"session_id": "1234"}, "session_id"),
    ({"suppress_events": "yes"}, "suppress_events"),
])
def test_destroy_refuses_bad_input_with_a_value_error(client: AgentClient, args: dict[str, Any],
                                                     message: str) -> None:
    kwargs = {"kernel_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()), **args}
    with pytest.raises(ValueError, match=message):
        client.call("destroy_kernel", **kwargs)


def test_fifty_kernels_destroyed_at_once_leave_the_host_clean(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    capacity = host().allocator.capacity  # 50 one-core kernels on 2 cores
    monkeypatch.setattr(host().allocator, "capacity", dataclasses.replace(capacity, cpu_overcommit=40))
    session_id, kernel_ids = create_many(client, kernel_image, 50)
    results = [client.send("destroy_kernel", kernel_id=k, session_id=session_id) for k in kernel_ids]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: r.get(timeout=180), results))  # any error is raised here
    reasons = {e.payload["kernel_id"]: e.payload["reason"] for e in events.named("kernel_terminated")}
    assert [reasons.get(k) for k in kernel_ids] == ["user-requested"] * 50
    for k in kernel_ids:
        assert_host_clean(k, docker_client)
    assert held_count() == 0


def test_destroy_during_creation_waits_for_it_so_nothing_comes_back(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: Any) -> None:
    session_id, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
    creation = client.send("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                           raw_configs=[kernel_config(kernel_image)])
    deadline = time.monotonic() + 30
    while (rec := host().registry.find(kernel_id)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert rec.state == "preparing"
    client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id)
    assert creation.get(timeout=30)[0]["id"] == kernel_id  # the creation finished, then it was destroyed
    assert [e.payload["reason"] for e in terminated_events(events, kernel_id)] == ["user-requested"]
    assert_host_clean(kernel_id, docker_client)
