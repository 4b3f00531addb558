"""ContainerCreation and ContainerVerification against a fake Docker API (and a real Unix socket)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from contract.errors import KernelStartFailed
from contract.kernels import ServicePort
from tests.unit.stages.conftest import FakeDocker
from worker.config import AgentSettings
from worker.pipeline.context import KernelContext
from worker.runner_client import RunnerConnections
from worker.stages.cmdarg import Command
from worker.stages.container import ContainerCreationStage, ContainerInfo
from worker.stages.environ import Environ
from worker.stages.image import ImageInfo
from worker.stages.mounts import Mounts, MountSpec
from worker.stages.network import NetworkChoice
from worker.stages.ports import ServicePorts
from worker.stages.resource import AllocatedResources
from worker.stages.verification import ContainerVerificationStage


def prepared(ctx: KernelContext) -> KernelContext:
    """A context with what the provision step records."""
    for name, res in [
        ("image", ImageInfo(id="sha256:img")),
        ("resource", AllocatedResources(kernel_id=ctx.kernel_id, cores=[1], mem=256 << 20)),
        ("environ", Environ(environ={"A": "1"})),
        ("intrinsic_mount", Mounts(mounts=[MountSpec(source="/s/work", target="/home/work")])),
        ("network", NetworkChoice()),
        ("service_ports", ServicePorts(kernel_id=ctx.kernel_id, ports=[
            ServicePort(name="web", protocol="http", container_ports=[8080], host_ports=[30001])])),
        ("cmdarg", Command(command=["python3", "-I", "/opt/kernel/runner"])),
    ]:
        ctx.record(name, res, 0)
    return ctx


def test_the_container_gets_the_kernels_limits_hardening_labels_and_ports(
        ctx: KernelContext, fake_docker: FakeDocker) -> None:
    stage = ContainerCreationStage(fake_docker, AgentSettings())  # type: ignore[arg-type]
    info = stage.setup(stage.spec(prepared(ctx)))
    [made] = fake_docker.api.created
    hc = made["host_config"]
    assert hc["cpuset_cpus"] == "1" and hc["mem_limit"] == hc["memswap_limit"] == 256 << 20
    assert hc["cap_drop"] == ["ALL"] and hc["security_opt"] == ["no-new-privileges"] and hc["init"] is True
    assert hc["port_bindings"] == {8080: ("127.0.0.1", 30001)}
    assert hc["log_config"].config == {"max-size": "10m", "max-file": "3"}  # a kernel's log cannot fill the disk
    assert made["user"] == f"{ctx.uid}:{ctx.gid}" and made["image"] == "sha256:img"
    assert made["labels"]["ai.backend.kernel-id"] == ctx.kernel_id and made["labels"]["ai.backend.owner"] == "test-unit"
    assert fake_docker.api.started == [info.container_id]


def test_a_redelivered_creation_reuses_the_container_already_made(ctx: KernelContext, fake_docker: FakeDocker) -> None:
    stage = ContainerCreationStage(fake_docker, AgentSettings())  # type: ignore[arg-type]
    spec = stage.spec(prepared(ctx))
    first, again = stage.setup(spec), stage.setup(spec)
    assert first.container_id == again.container_id and len(fake_docker.api.created) == 1


def test_leftover_finds_a_container_made_but_never_recorded(ctx: KernelContext, fake_docker: FakeDocker) -> None:
    stage = ContainerCreationStage(fake_docker, AgentSettings())  # type: ignore[arg-type]
    assert stage.leftover(ctx) is None
    made = stage.setup(stage.spec(prepared(ctx)))
    found = stage.leftover(ctx)
    assert found == ContainerInfo(container_id=made.container_id, kernel_id=ctx.kernel_id)
    stage.teardown(found)
    assert fake_docker.api.removed == [made.container_id]


def serve_status(path: Path) -> threading.Thread:
    """A one-request runner stand-in answering the handshake."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn, server:
            conn.recv(4096)
            conn.sendall(json.dumps({"ok": True, "started_at": 1.0}).encode() + b"\n")

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    return t


def verification(ctx: KernelContext, fake_docker: FakeDocker, timeout: float) -> Any:
    ctx.record("container_creation", ContainerInfo(container_id="c0", kernel_id=ctx.kernel_id), 0)
    ctx.ipc_dir = Path(tempfile.mkdtemp(prefix="ipc-"))  # short: a Unix socket path has at most 107 bytes
    stage = ContainerVerificationStage(fake_docker, AgentSettings(runner_handshake_timeout=timeout),  # type: ignore[arg-type]
                                       RunnerConnections())
    return stage, stage.spec(ctx)


def test_verification_passes_when_the_runner_answers_its_handshake(
        ctx: KernelContext, fake_docker: FakeDocker) -> None:
    stage, spec = verification(ctx, fake_docker, 5)
    try:
        serve_status(spec.socket_path)
        identity = stage.setup(spec)
        assert identity.pid == os.getpid()  # the process that listens (here: this test)
        assert ctx.ipc_dir.stat().st_mode & 0o777 == 0o755 and ctx.ipc_dir.stat().st_uid == 0
        stage.teardown(identity)  # a restart: the dir goes back to the kernel's user, without the socket
        assert ctx.ipc_dir.stat().st_mode & 0o777 == 0o700 and not spec.socket_path.exists()
    finally:
        shutil.rmtree(ctx.ipc_dir)


def test_verification_fails_at_once_when_the_container_exits_first(
        ctx: KernelContext, fake_docker: FakeDocker) -> None:
    fake_docker.api.state = {"Running": False, "ExitCode": 127}
    stage, spec = verification(ctx, fake_docker, 30)
    with pytest.raises(KernelStartFailed, match=r"exited with code 127.*python3: not found"):
        stage.setup(spec)


def test_verification_fails_when_the_runner_stays_silent(
        ctx: KernelContext, fake_docker: FakeDocker) -> None:
    stage, spec = verification(ctx, fake_docker, 0.2)
    with pytest.raises(KernelStartFailed, match=r"did not answer its handshake within 0.2 s"):
        stage.setup(spec)
