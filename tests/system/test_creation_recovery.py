"""A worker SIGKILLed in the middle of a kernel creation, then started again."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from celery import Celery

from agent_client.client import AgentClient
from tests.support.agent_process import AgentProcess, new_agent_id

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def silent_image(docker_engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernel image whose runner never answers, so creation waits in its last stage."""
    repo = Path(__file__).resolve().parents[2]
    subprocess.run([str(repo / "images" / "build-python-kernel.sh")], check=True, capture_output=True)
    d = tmp_path_factory.mktemp("silent")
    (d / "Dockerfile").write_text(
        "FROM kernel-python:latest\nRUN rm -f /usr/bin/python3 && "
        "printf '#!/bin/sh\\nexec sleep 600\\n' > /usr/bin/python3 && chmod +x /usr/bin/python3\n")
    tag = f"test-silent-sys:{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["docker", "build", "-q", "-t", tag, str(d)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    yield tag
    docker_engine.images.remove(tag, force=True)


def test_sigkill_during_creation_then_restart_cleans_the_kernel_and_fails_the_caller(
        redis_url: str, client_app: Celery, docker_engine: docker.DockerClient, silent_image: str) -> None:
    agent_id = new_agent_id("crash")
    env = {"AGENT_RUNNER_HANDSHAKE_TIMEOUT": "120"}
    first = AgentProcess(agent_id, redis_url, extra_env=env)
    second = None
    try:
        first.wait_alive()
        client = AgentClient(agent_id, redis_url, app=client_app)
        kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
        result = client.send("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                             raw_configs=[{"image": {"canonical": silent_image, "is_local": True},
                                           "resource_slots": {"cpu": 1, "mem": "128m"}}])
        label = {"label": f"ai.backend.kernel-id={kernel_id}"}
        deadline = time.monotonic() + 60
        while not docker_engine.containers.list(filters=label):  # creation is waiting for the runner
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.1)
        first.proc.kill()
        first.proc.wait(10)
        assert docker_engine.containers.list(all=True, filters=label)  # the half-made kernel is left

        second = AgentProcess(agent_id, redis_url, extra_env=env, var_dir=first.var_dir)
        second.wait_alive()
        with pytest.raises(RuntimeError, match="restarted while this kernel was being created"):
            result.get(timeout=30)
        assert docker_engine.containers.list(all=True, filters=label) == []
        assert not (first.var_dir / "scratches" / kernel_id).exists()
        assert not (first.var_dir / "ipc" / kernel_id).exists()
        client.close()
    finally:
        if second is not None:
            second.stop()
        first.stop()
