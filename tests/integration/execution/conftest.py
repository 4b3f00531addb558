"""Kernels for the execution tests, made and destroyed through the real pipeline
(create_kernels / destroy_kernel) from the `kernel-python` image, whose `ai.backend.service-ports`
label declares `http-server:http:8080`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from worker.config import AgentSettings
from worker.runtime import host
from worker.state.kernels import KernelRecord


def create_kernel(client: AgentClient, image: str) -> KernelRecord:
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                raw_configs=[kernel_config(image)], wait=120)
    return host().registry.get(kernel_id)


def destroy_kernel(client: AgentClient, docker_client: docker.DockerClient, record: KernelRecord) -> None:
    """Destroy (a no-op if a test already did) and check that nothing of the kernel is left."""
    client.call("destroy_kernel", kernel_id=record.kernel_id, session_id=record.session_id,
                suppress_events=True)
    assert containers_of(docker_client, record) == []
    assert not record.scratch_dir.exists() and host().registry.find(record.kernel_id) is None


def containers_of(docker_client: docker.DockerClient, record: KernelRecord) -> list[object]:
    return list(docker_client.containers.list(
        all=True, filters={"label": f"ai.backend.kernel-id={record.kernel_id}"}))


@pytest.fixture(scope="module")
def module_client(worker: object, redis_url: str, settings: AgentSettings) -> Iterator[AgentClient]:
    c = AgentClient(settings.id, redis_url, default_timeout=120)
    yield c
    c.close()


@pytest.fixture(scope="module")
def shared_kernel(module_client: AgentClient, docker_engine: docker.DockerClient,
                  kernel_image: str) -> Iterator[KernelRecord]:
    """One kernel shared by a module's tests (each test leaves no run in progress)."""
    record = create_kernel(module_client, kernel_image)
    yield record
    destroy_kernel(module_client, docker_engine, record)


@pytest.fixture
def own_kernel(module_client: AgentClient, docker_engine: docker.DockerClient,
               kernel_image: str) -> Iterator[KernelRecord]:
    """A kernel of this test only (for tests that break or destroy it)."""
    record = create_kernel(module_client, kernel_image)
    yield record
    destroy_kernel(module_client, docker_engine, record)
