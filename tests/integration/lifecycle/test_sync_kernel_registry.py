"""sync_kernel_registry: both directions of the spec, and kernels in creation left alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events
from worker.runtime import host
from worker.state.kernels import KernelRecord, KernelState


@pytest.fixture
def preparing_record(tmp_path: Any) -> Iterator[KernelRecord]:
    """A kernel record as a creation in flight has it (PREPARING)."""
    kernel_id = str(uuid.uuid4())
    rec = KernelRecord(kernel_id=kernel_id, session_id=str(uuid.uuid4()), state=KernelState.PREPARING,
                       scratch_dir=tmp_path / kernel_id, ipc_dir=tmp_path / "ipc", uid=1000, gid=1000,
                       image="kernel-python:latest")
    host().registry.put(rec)
    yield rec
    host().registry.remove(kernel_id)


def test_sync_destroys_unlisted_kernels_and_reports_unknown_ones_leaving_creations_alone(
        client: AgentClient, make_kernel: Any, preparing_record: KernelRecord,
        docker_client: docker.DockerClient, events: Any) -> None:
    victim, keeper = make_kernel(), make_kernel()
    ghost, ghost_session = str(uuid.uuid4()), str(uuid.uuid4())
    listed = [[r.kernel_id, r.session_id] for r in host().registry.all()
              if r.kernel_id not in (victim.kernel_id, preparing_record.kernel_id)]
    client.call("sync_kernel_registry", raw_kernel_session_ids=[*listed, [ghost, ghost_session]])

    [gone] = terminated_events(events, victim.kernel_id)
    assert gone.payload["reason"] == "not-found-in-manager"
    assert_host_clean(victim.kernel_id, docker_client)
    [unknown] = terminated_events(events, ghost)
    assert unknown.payload["reason"] == "already-terminated" and unknown.payload["session_id"] == ghost_session
    assert host().registry.get(keeper.kernel_id).state == "running"
    assert docker_client.containers.get(keeper.container_id).status == "running"
    assert host().registry.get(preparing_record.kernel_id).state == "preparing"
    assert terminated_events(events, keeper.kernel_id) == terminated_events(events, preparing_record.kernel_id) == []


@pytest.mark.parametrize("ids", [[["not-a-uuid", str(uuid.uuid4())]], [[str(uuid.uuid4())]], "x"])
def test_sync_refuses_malformed_ids_with_a_value_error(client: AgentClient, ids: Any) -> None:
    with pytest.raises(ValueError, match="raw_kernel_session_ids"):
        client.call("sync_kernel_registry", raw_kernel_session_ids=ids)
