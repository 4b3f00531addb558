"""A real agent-worker with `hostfile` scratches of 64 MiB: a kernel that fills its /home/work from
inside fails only its own writes; another kernel, the agent's var dir and the agent are unaffected,
and destroy leaves no mount, hostfile or loop device."""

from __future__ import annotations

import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from agent_client.client import AgentClient
from tests.support.agent_process import REPO, AgentProcess, new_agent_id

pytestmark = pytest.mark.system
SIZE_MIB = 64
FILL = """
import errno, os
written = 0
try:
    with open('/home/work/fill', 'wb') as f:
        while True:
            f.write(b'x' * (1 << 20))
            f.flush()
            os.fsync(f.fileno())
            written += 1
except OSError as e:
    print(written, errno.errorcode[e.errno])
"""
WRITE_16M = "open('/home/work/data', 'wb').write(b'y' * (16 << 20)); print('ok')"


@pytest.fixture(scope="module")
def kernel_image() -> str:
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True, capture_output=True)
    return "kernel-python:latest"


@pytest.fixture
def agent(redis_url: str, client_app: Celery, kernel_image: str) -> Iterator[tuple[AgentProcess, AgentClient]]:
    low = random.randrange(20000, 29000, 100)
    proc = AgentProcess(new_agent_id("scratch"), redis_url, extra_env={
        "AGENT_SCRATCH_TYPE": "hostfile", "AGENT_SCRATCH_SIZE": f"{SIZE_MIB}m",
        "AGENT_PORT_RANGE": f"[{low}, {low + 99}]"})
    try:
        proc.wait_alive()
        yield proc, AgentClient(proc.agent_id, redis_url, app=client_app, default_timeout=120)
    finally:
        proc.stop()


def create(client: AgentClient, image: str) -> tuple[str, str]:
    session_id, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id], wait=120,
                raw_configs=[{"image": {"canonical": image, "is_local": True},
                              "resource_slots": {"cpu": 1, "mem": "256m"}}])
    return kernel_id, session_id


def run(client: AgentClient, kernel: tuple[str, str], code: str) -> str:
    kernel_id, session_id = kernel
    r: dict[str, Any] = client.call("execute", session_id=session_id, kernel_id=kernel_id, mode="query", code=code)
    console = list(r["console"])
    while r["status"] == "continued":
        r = client.call("execute", session_id=session_id, kernel_id=kernel_id, mode="continue", run_id=r["runId"],
                        flush_timeout=10)
        console += r["console"]
    assert r["status"] == "finished", r
    return "".join(data for kind, data in console if kind == "stdout").strip()


def mounts_below(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


def loop_files() -> str:
    return subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"], capture_output=True,
                          text=True, check=True).stdout


def test_a_full_hostfile_scratch_fails_only_that_kernels_writes(
        agent: tuple[AgentProcess, AgentClient], kernel_image: str) -> None:
    proc, client = agent
    filler, neighbour = create(client, kernel_image), create(client, kernel_image)
    scratch = proc.var_dir / "scratches"
    assert len(mounts_below(scratch)) == 2

    written, error = run(client, filler, FILL).split()
    assert error == "ENOSPC" and SIZE_MIB // 2 <= int(written) < SIZE_MIB
    assert run(client, filler, "import os; s = os.statvfs('/home/work'); print(s.f_blocks * s.f_frsize >> 20)") \
        in {str(n) for n in range(SIZE_MIB // 2, SIZE_MIB + 1)}
    image = scratch / f"{filler[0]}.img"
    assert image.stat().st_blocks * 512 <= SIZE_MIB << 20  # all it took of the host's disk

    assert run(client, neighbour, WRITE_16M) == "ok"  # the other kernel writes as before
    probe = proc.var_dir / "probe"
    probe.write_bytes(b"z" * (16 << 20))  # so does the host, next to agent.db
    probe.unlink()
    assert client.ping("still here") == "still here"

    for kernel_id, session_id in (filler, neighbour):
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)
    assert mounts_below(scratch) == [] and list(scratch.iterdir()) == []
    deadline = time.monotonic() + 5  # the kernel detaches an autoclear loop device asynchronously
    while str(scratch) in loop_files():
        assert time.monotonic() < deadline, loop_files()
        time.sleep(0.05)
