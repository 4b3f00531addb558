"""The reconciler against real Docker: missed deaths, unknown containers, leftovers; creations safe.

The Docker events watcher would see every death first, so tests of missed events blind it (fault
injection) and run one reconcile pass directly on the in-process agent's services.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Any

import docker
import pytest

from tests.support.docker_cleanup import TEST_LABEL
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events
from worker.kernels.reconcile import reconcile
from worker.resources.slots import SlotRequest
from worker.runtime import host
from worker.state.kernels import KernelRecord, KernelState


@pytest.fixture
def blind_watcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("worker.kernels.watcher.clean_dead_kernel", lambda *a, **kw: False)


def test_a_missed_death_is_cleaned_by_the_next_pass_once_past_the_grace(
        blind_watcher: None, kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    h = host()
    docker_client.api.kill(kernel.container_id)
    assert kernel.kernel_id not in reconcile(h, grace=3600).cleaned  # too young to be judged
    assert h.registry.get(kernel.kernel_id).state == "running"
    assert kernel.kernel_id in reconcile(h, grace=0).cleaned
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "self-terminated" and ev.payload["exit_code"] == 137
    assert_host_clean(kernel.kernel_id, docker_client)


def test_a_vanished_container_gives_container_not_found(
        blind_watcher: None, kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    docker_client.api.remove_container(kernel.container_id, force=True)
    assert kernel.kernel_id in reconcile(host(), grace=0).cleaned
    [ev] = terminated_events(events, kernel.kernel_id)
    assert ev.payload["reason"] == "container-not-found"
    assert_host_clean(kernel.kernel_id, docker_client)


def test_a_container_of_this_agent_that_no_kernel_claims_is_removed(
        kernel_image: str, docker_client: docker.DockerClient, events: Any) -> None:
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    stray = docker_client.containers.run(kernel_image, ["sleep", "60"], detach=True, labels={
        TEST_LABEL: "1", "ai.backend.owner": host().settings.id, "ai.backend.kernel-id": kernel_id,
        "ai.backend.session-id": session_id})
    try:
        assert stray.id not in reconcile(host(), grace=3600).removed_containers
        assert stray.id in reconcile(host(), grace=0).removed_containers
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(stray.id)
        [ev] = terminated_events(events, kernel_id)
        assert ev.payload["reason"] == "terminated-unknown-container" and ev.payload["session_id"] == session_id
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            stray.remove(force=True)


def leave_leftovers(kernel_id: str) -> None:
    h = host()
    h.allocator.allocate(kernel_id, SlotRequest(cpu=1, mem=64 << 20, mock_devices=1))
    h.ports.take(kernel_id, 2)
    past = time.time() - 60
    for root in (h.settings.scratch_dir, h.settings.ipc_dir):
        (root / kernel_id / "work").mkdir(parents=True)
        os.utime(root / kernel_id, (past, past))


def test_leftovers_of_unknown_kernels_are_released_but_not_those_of_a_creation_in_flight(
        docker_client: docker.DockerClient, tmp_path: Any) -> None:
    h = host()
    orphan, creating = str(uuid.uuid4()), str(uuid.uuid4())
    leave_leftovers(orphan)
    leave_leftovers(creating)
    h.registry.put(KernelRecord(
        kernel_id=creating, session_id=str(uuid.uuid4()), state=KernelState.PREPARING, uid=1000, gid=1000,
        scratch_dir=h.settings.scratch_dir / creating, ipc_dir=h.settings.ipc_dir / creating,
        image="kernel-python:latest"))
    try:
        report = reconcile(h, grace=0)
        assert orphan in report.released and creating not in report.released
        assert_host_clean(orphan, docker_client)
        assert h.allocator.of(creating) is not None and creating in h.ports.kernels()
        assert (h.settings.scratch_dir / creating).is_dir()
    finally:
        h.registry.remove(creating)
        reconcile(h, grace=0)
    assert_host_clean(creating, docker_client)
