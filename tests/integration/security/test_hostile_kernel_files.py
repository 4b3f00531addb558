"""A kernel's user plants links where the agent wrote files (SSH keys, dotfiles, the bootstrap
script) and where its runner listens: destroy never removes a host file through them, and the
runner's socket cannot be removed or replaced from inside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.host_state import assert_host_clean

KEYS = {"public_key": "ssh-ed25519 AAAA", "private_key": "kernel-private-key"}


@pytest.fixture
def host_files(var_dir: Path, unique: str) -> Path:
    """Files of the host's own, where the kernel's links will point (readable by the kernel's user)."""
    d = var_dir / f"host-files-{unique}"
    d.mkdir()
    for name in ("id_rsa", "authorized_keys", "x", "bootstrap.sh"):
        (d / name).write_text(f"host's {name}")
    d.chmod(0o755)
    return d


def sh(container: Any, script: str) -> tuple[int, str]:
    rc, out = container.exec_run(["sh", "-c", script], user="1000:1000")
    return rc, out.decode(errors="replace")


def test_destroy_removes_nothing_through_links_planted_in_the_work_dir(
        client: AgentClient, make_kernel: Any, docker_client: docker.DockerClient, host_files: Path) -> None:
    kernel = make_kernel(bootstrap_script="true", internal_data={
        "ssh_keypair": KEYS, "dotfiles": [{"path": "conf/x", "data": "mine"}]})
    c = docker_client.containers.get(kernel.container_id)
    rc, out = sh(c, f"cd /home/work && rm -rf .ssh conf bootstrap.sh && ln -s {host_files} .ssh && "
                    f"ln -s {host_files} conf && ln -s {host_files}/bootstrap.sh bootstrap.sh")
    assert rc == 0, out
    client.call("destroy_kernel", kernel_id=kernel.kernel_id, session_id=kernel.session_id)
    assert {p.name: p.read_text() for p in host_files.iterdir()} == {
        n: f"host's {n}" for n in ("id_rsa", "authorized_keys", "x", "bootstrap.sh")}
    assert_host_clean(kernel.kernel_id, docker_client)


def test_the_runner_socket_cannot_be_removed_or_replaced_from_inside_the_kernel(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient) -> None:
    c = docker_client.containers.get(kernel.container_id)
    for attempt in ("rm -f /opt/kernel/ipc/runner.sock",
                    "ln -sf /etc/passwd /opt/kernel/ipc/runner.sock",
                    "mv /opt/kernel/ipc/runner.sock /opt/kernel/ipc/old",
                    "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/opt/kernel/ipc/mine.sock')\"",
                    "chmod 777 /opt/kernel/ipc"):
        rc, out = sh(c, attempt)
        assert rc != 0, f"{attempt!r} worked: {out}"
    rc, out = sh(c, "stat -c '%u %a %F' /opt/kernel/ipc /opt/kernel/ipc/runner.sock")
    assert out.splitlines() == ["0 755 directory", "1000 600 socket"]
    reply = client.call("execute", session_id=kernel.session_id, kernel_id=kernel.kernel_id, mode="query",
                        code="print(6 * 7)", opts={}, flush_timeout=5)
    assert reply["console"] == [["stdout", "42\n"]]


def test_after_a_restart_the_new_runner_listens_and_the_socket_is_locked_again(
        client: AgentClient, kernel: Any, docker_client: docker.DockerClient) -> None:
    client.call("restart_kernel", kernel_id=kernel.kernel_id, session_id=kernel.session_id,
                kernel_image={"name": "kernel-python", "tag": "latest", "is_local": True})
    from worker.runtime import host

    rec = host().registry.get(kernel.kernel_id)
    c = docker_client.containers.get(rec.container_id)
    rc, out = sh(c, "stat -c '%u %a' /opt/kernel/ipc; rm -f /opt/kernel/ipc/runner.sock")
    assert out.splitlines()[0] == "0 755" and rc != 0
    reply = client.call("execute", session_id=kernel.session_id, kernel_id=kernel.kernel_id, mode="query",
                        code="print('again')", opts={}, flush_timeout=5)
    assert reply["console"] == [["stdout", "again\n"]]
