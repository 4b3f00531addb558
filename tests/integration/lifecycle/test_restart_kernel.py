"""restart_kernel against real Docker: same id, allocation, ports and work files, a new container."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import docker
import pytest

import worker.kernels.restart as restart_module
from agent_client.client import AgentClient
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events
from worker.kernels.locks import held_count
from worker.runtime import host

IMAGE_REF = {"name": "kernel-python", "tag": "latest", "is_local": True}


def restart(client: AgentClient, k: Any, **kw: Any) -> dict[str, Any]:
    return dict(client.call("restart_kernel", kernel_id=k.kernel_id, session_id=k.session_id,
                            kernel_image=IMAGE_REF, **kw))


def run(client: AgentClient, k: Any, code: str) -> str:
    r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="query", code=code)
    return "".join(data for kind, data in r["console"] if kind == "stdout")


def test_restart_gives_a_new_container_keeping_allocation_ports_and_work_files(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    h = host()
    before = h.registry.get(kernel.kernel_id)
    allocation = h.allocator.of(kernel.kernel_id)
    run(client, kernel, "open('/home/work/kept.txt', 'w').write('still here')")
    info = restart(client, kernel)
    assert info["id"] == kernel.kernel_id and info["container_id"] != before.container_id
    assert info["service_ports"] == before.creation_info["service_ports"]
    assert info["resource_spec"] == before.creation_info["resource_spec"]
    assert h.allocator.of(kernel.kernel_id) == allocation
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(before.container_id)
    assert docker_client.containers.get(info["container_id"]).status == "running"
    after = h.registry.get(kernel.kernel_id)
    assert after.state == "running" and after.container_id == info["container_id"]
    assert run(client, kernel, "print(open('/home/work/kept.txt').read())") == "still here\n"
    assert terminated_events(events, kernel.kernel_id) == []  # a restart is not a termination
    [started] = [e for e in events.named("kernel_started") if e.payload["kernel_id"] == kernel.kernel_id]
    assert started.payload["creation_info"]["container_id"] == info["container_id"]


def test_a_destroy_over_the_restart_timeout_cleans_the_kernel_and_raises_timeout_error(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, events: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_kill = restart_module.kill_container

    def hanging_kill(h: Any, container_id: str | None) -> int:  # fault injection: Docker hangs
        time.sleep(3)
        return real_kill(h, container_id)

    monkeypatch.setattr(restart_module, "kill_container", hanging_kill)
    monkeypatch.setattr(host().settings, "restart_timeout", 0.5)
    with pytest.raises(TimeoutError, match=r"took over 0\.5 s"):
        restart(client, kernel)
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "restart-timeout"
    assert_host_clean(kernel.kernel_id, docker_client)


def test_restart_refuses_unknown_kernels_other_images_and_bad_config(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient) -> None:
    with pytest.raises(KeyError, match="not known"):
        client.call("restart_kernel", kernel_id=str(uuid.uuid4()), session_id=str(uuid.uuid4()),
                    kernel_image=IMAGE_REF)
    with pytest.raises(ValueError, match="keeps a kernel's image"):
        client.call("restart_kernel", kernel_id=kernel.kernel_id, session_id=kernel.session_id,
                    kernel_image={"name": "other", "is_local": True})
    with pytest.raises(ValueError, match=r"updated_config of kernel .*: resource_slots: Input should be a valid dict"):
        restart(client, kernel, updated_config={"resource_slots": "lots"})
    with pytest.raises(ValueError, match="kernel_id"):
        client.call("restart_kernel", kernel_id="k1", session_id=kernel.session_id, kernel_image=IMAGE_REF)
    rec = host().registry.get(kernel.kernel_id)
    assert rec.state == "running" and docker_client.containers.get(rec.container_id).status == "running"


def test_twenty_restarts_in_a_row_leak_nothing(client: AgentClient, kernel: Any,
                                               docker_client: docker.DockerClient) -> None:
    h = host()
    label = {"label": f"ai.backend.kernel-id={kernel.kernel_id}"}
    allocation, ports = h.allocator.of(kernel.kernel_id), h.ports.kernels()
    restart(client, kernel)  # warm up pools and caches before counting file descriptors
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        restart(client, kernel)
    assert len(docker_client.containers.list(all=True, filters=label)) == 1
    assert h.allocator.of(kernel.kernel_id) == allocation and h.ports.kernels() == ports
    assert h.slots.held() == 0 and held_count() == 0
    assert len(os.listdir("/proc/self/fd")) <= fds + 5
    assert run(client, kernel, "print(6 * 7)") == "42\n"


def test_a_restart_whose_new_container_fails_to_start_cleans_the_kernel(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient, events: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host().settings, "runner_handshake_timeout", 0.001)  # no runner answers that fast
    with pytest.raises(RuntimeError, match="did not start again"):
        restart(client, kernel)
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "failed-to-start" and "handshake" in ev.payload["detail"]
    assert_host_clean(kernel.kernel_id, docker_client)
