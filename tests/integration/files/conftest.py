"""One kernel (made through the real pipeline) shared by the files tests, and helpers to act in it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from worker.config import AgentSettings
from worker.state.kernels import KernelRecord


@dataclass
class FilesKernel:
    record: KernelRecord
    container: Any
    client: AgentClient

    @property
    def kernel_id(self) -> str:
        return self.record.kernel_id

    @property
    def work(self) -> Path:
        return self.record.work_dir

    def sh(self, script: str) -> tuple[int, str]:
        """Run a shell script inside the kernel as its user (what a user's code could do)."""
        rc, out = self.container.exec_run(["sh", "-c", script], user=f"{self.record.uid}:{self.record.gid}")
        return rc, out.decode(errors="replace")

    def call(self, op: str, **kwargs: Any) -> Any:
        return self.client.call(op, kernel_id=self.kernel_id, **kwargs)


@pytest.fixture(scope="session")
def files_kernel(worker: Any, redis_url: str, settings: AgentSettings, kernel_image: str,
                 docker_engine: docker.DockerClient) -> Iterator[FilesKernel]:
    """A running kernel for every files test (each works in its own subdirectory), destroyed at the end."""
    from worker.runtime import host

    client = AgentClient(settings.id, redis_url, default_timeout=60)
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                raw_configs=[kernel_config(kernel_image)], wait=120)
    record = host().registry.get(kernel_id)
    assert record.container_id is not None
    try:
        yield FilesKernel(record, docker_engine.containers.get(record.container_id), client)
    finally:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)
        client.close()


@pytest.fixture
def fk(files_kernel: FilesKernel) -> Iterator[FilesKernel]:
    """The shared kernel; after each test no upload temp file is left in its work directory."""
    yield files_kernel
    assert list(files_kernel.work.rglob(".upload-*")) == []
