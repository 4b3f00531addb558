"""A running kernel for the execution tests: the kernel image running the runner as the lead's
creation pipeline does (uid 1000, runner mounted read-only, ipc and work dirs from the host,
the `http-server` service port published), registered in this host's kernel registry."""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from worker.config import AgentSettings
from worker.host import host
from worker.state.kernels import KernelRecord, KernelState

REPO = Path(__file__).resolve().parents[3]
SERVICE_PORT = 8080


def start_kernel(docker_client: docker.DockerClient, image: str, settings: AgentSettings) -> KernelRecord:
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    scratch = settings.scratch_dir / kernel_id
    ipc = settings.ipc_dir / kernel_id
    for d in (scratch / "work", scratch / "config", ipc):
        d.mkdir(parents=True)
        shutil.chown(d, settings.kernel_uid, settings.kernel_gid)
    container = docker_client.containers.run(
        image, ["python3", "-I", "/opt/kernel/runner"], detach=True,
        user=f"{settings.kernel_uid}:{settings.kernel_gid}", working_dir="/home/work",
        volumes={str(REPO / "runner"): {"bind": "/opt/kernel/runner", "mode": "ro"},
                 str(ipc): {"bind": "/opt/kernel/ipc", "mode": "rw"},
                 str(scratch / "work"): {"bind": "/home/work", "mode": "rw"},
                 str(scratch / "config"): {"bind": "/home/config", "mode": "ro"}},
        ports={f"{SERVICE_PORT}/tcp": ("127.0.0.1", None)},
        labels={"agent.test": "1", "ai.backend.kernel-id": kernel_id, "ai.backend.session-id": session_id,
                "ai.backend.owner": settings.id})
    container.reload()
    host_port = int(container.ports[f"{SERVICE_PORT}/tcp"][0]["HostPort"])
    record = KernelRecord(kernel_id=kernel_id, session_id=session_id, state=KernelState.RUNNING,
                          container_id=container.id, scratch_dir=scratch, ipc_dir=ipc,
                          uid=settings.kernel_uid, gid=settings.kernel_gid, image=image,
                          service_ports=[{"name": "http-server", "protocol": "http",
                                          "container_ports": [SERVICE_PORT], "host_ports": [host_port]}])
    deadline = time.monotonic() + 15
    while not record.runner_socket.exists():
        assert time.monotonic() < deadline, container.logs().decode()
        time.sleep(0.05)
    host().registry.put(record)
    return record


def stop_kernel(docker_client: docker.DockerClient, record: KernelRecord) -> None:
    host().registry.remove(record.kernel_id)
    with contextlib.suppress(docker.errors.NotFound):
        docker_client.containers.get(record.container_id).remove(force=True)
    shutil.rmtree(record.scratch_dir, ignore_errors=True)
    shutil.rmtree(record.ipc_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_kernel(worker: object, docker_engine: docker.DockerClient, kernel_image: str,
                  settings: AgentSettings) -> Iterator[KernelRecord]:
    """One kernel shared by a module's tests (each test leaves no run in progress)."""
    record = start_kernel(docker_engine, kernel_image, settings)
    yield record
    stop_kernel(docker_engine, record)


@pytest.fixture
def own_kernel(worker: object, docker_engine: docker.DockerClient, kernel_image: str,
               settings: AgentSettings) -> Iterator[KernelRecord]:
    """A kernel of this test only (for tests that break it)."""
    record = start_kernel(docker_engine, kernel_image, settings)
    yield record
    stop_kernel(docker_engine, record)
