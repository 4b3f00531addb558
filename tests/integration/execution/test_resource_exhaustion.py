"""User code that exhausts its kernel's memory or pids limit (256 MiB, 4096 pids) costs the user's
processes, never the runner or the container: the run ends with 137 and a note on stderr, the next
`execute` answers, and a kernel made before the attack is untouched. Each attack is bounded (its
processes end by themselves within seconds) so that a failing runner cannot make a test hang."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from worker.state.kernels import KernelRecord

# Every process forks at every step, 2**12 processes at most, each then holding its pid for 20 s.
FORK_BOMB = """
import os, time
for _ in range(12):
    try:
        os.fork()
    except OSError:
        pass
time.sleep(20)
"""
# 4 GiB in 64 MiB pieces, each written (bytearray zeroes its memory).
MEMORY_HOG = """
chunks = []
for _ in range(64):
    chunks.append(bytearray(64 << 20))
print("not reached")
"""
# Threads are pids too, and cheap in memory: this exhausts the pids limit long before the memory.
THREAD_BOMB = """
import threading, time
try:
    for _ in range(10000):
        threading.Thread(target=time.sleep, args=(20,), daemon=True).start()
except RuntimeError as e:
    print("threads exhausted:", e)
time.sleep(20)
"""
# Batch commands are shell commands: the same programs, run by python3 -c.
SHELL_FORK_BOMB = 'python3 -c "' + FORK_BOMB + '"'
SHELL_MEMORY_HOG = 'python3 -c "' + MEMORY_HOG.replace('"', "'") + '"'


def run_to_end(client: AgentClient, k: KernelRecord, mode: str, code: str, **opts: str) -> dict[str, Any]:
    """One run through its `continue`s until it has finished; its whole console and its last result.
    The long flush timeout lets the runner answer as soon as the run ends (at most 60 s)."""
    deadline = time.monotonic() + 120
    r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode=mode, code=code,
                    opts=opts, flush_timeout=60)
    console = list(r["console"])
    while r["status"] != "finished":
        assert time.monotonic() < deadline, f"run still {r['status']} after 120 s"
        r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="continue",
                        run_id=r["runId"], flush_timeout=60)
        console += r["console"]
    return {**r, "console": console}


def stream(result: dict[str, Any], kind: str) -> str:
    return "".join(data for t, data in result["console"] if t == kind)


def container_state(docker_client: docker.DockerClient, k: KernelRecord) -> tuple[str, bool]:
    state = docker_client.api.inspect_container(k.container_id)["State"]
    return state["Status"], state["OOMKilled"]


@pytest.fixture(scope="module")
def bystander(shared_kernel: KernelRecord, module_client: AgentClient) -> KernelRecord:
    """A kernel made before the attacks, with a value in its namespace."""
    assert run_to_end(module_client, shared_kernel, "query", "before = 6 * 7")["exitCode"] == 0
    return shared_kernel


def assert_survived(client: AgentClient, docker_client: docker.DockerClient, victim: KernelRecord,
                    bystander: KernelRecord) -> None:
    """The victim's container runs on and answers; the bystander's namespace is as it was."""
    assert container_state(docker_client, victim) == ("running", False)
    after = run_to_end(client, victim, "query", "print(1)")
    assert (after["exitCode"], stream(after, "stdout")) == (0, "1\n")
    assert container_state(docker_client, bystander) == ("running", False)
    other = run_to_end(client, bystander, "query", "print(before)")
    assert (other["exitCode"], stream(other, "stdout")) == (0, "42\n")


@pytest.mark.timeout(240)
def test_a_fork_bomb_in_query_mode_kills_the_users_processes_not_the_kernel(
        make_kernel: Callable[..., KernelRecord], bystander: KernelRecord, client: AgentClient,
        docker_client: docker.DockerClient) -> None:
    victim = make_kernel()
    r = run_to_end(client, victim, "query", FORK_BOMB)
    assert r["exitCode"] == 137
    # Memory runs out long before the pids: the OOM killer takes the interpreter (and the runner its
    # session) or, when it keeps killing, the runner kills every process of the user.
    err = stream(r, "stderr")
    assert "[runner: the kernel ran out of memory (limit 256 MiB)" in err and "state is lost]" in err
    assert_survived(client, docker_client, victim, bystander)


@pytest.mark.timeout(240)
def test_a_memory_hog_in_query_mode_costs_the_interpreter_only(
        make_kernel: Callable[..., KernelRecord], bystander: KernelRecord, client: AgentClient,
        docker_client: docker.DockerClient) -> None:
    victim = make_kernel()
    r = run_to_end(client, victim, "query", MEMORY_HOG)
    assert r["exitCode"] == 137 and "not reached" not in stream(r, "stdout")
    err = stream(r, "stderr")
    assert "[runner: the kernel ran out of memory (limit 256 MiB): the OOM killer killed 1 process]" in err
    assert "[runner: the interpreter exited with code -9; its state is lost]" in err
    assert_survived(client, docker_client, victim, bystander)


@pytest.mark.timeout(240)
def test_exhausting_the_pids_limit_in_query_mode_kills_the_users_processes(
        make_kernel: Callable[..., KernelRecord], bystander: KernelRecord, client: AgentClient,
        docker_client: docker.DockerClient) -> None:
    victim = make_kernel()
    r = run_to_end(client, victim, "query", THREAD_BOMB)
    assert r["exitCode"] == 137
    assert ("[runner: the kernel reached its limit of 4096 processes: the runner killed every process of "
            "the user (services too); the interpreter's state is lost]") in stream(r, "stderr")
    assert_survived(client, docker_client, victim, bystander)


@pytest.mark.timeout(240)
def test_a_fork_bomb_in_batch_mode_kills_the_users_processes_not_the_kernel(
        make_kernel: Callable[..., KernelRecord], bystander: KernelRecord, client: AgentClient,
        docker_client: docker.DockerClient) -> None:
    victim = make_kernel()
    r = run_to_end(client, victim, "batch", "", exec=SHELL_FORK_BOMB)
    assert r["exitCode"] == 137
    assert "[runner: the kernel ran out of memory (limit 256 MiB)" in stream(r, "stderr")
    assert_survived(client, docker_client, victim, bystander)


@pytest.mark.timeout(240)
def test_a_memory_hog_in_batch_mode_costs_its_command_only(
        make_kernel: Callable[..., KernelRecord], bystander: KernelRecord, client: AgentClient,
        docker_client: docker.DockerClient) -> None:
    victim = make_kernel()
    assert run_to_end(client, victim, "query", "kept = 'namespace'")["exitCode"] == 0
    r = run_to_end(client, victim, "batch", "", exec=SHELL_MEMORY_HOG)
    assert r["exitCode"] == 137 and "not reached" not in stream(r, "stdout")
    assert "[runner: the kernel ran out of memory (limit 256 MiB): the OOM killer killed 1 process]" in stream(
        r, "stderr")
    # The query interpreter was not the OOM killer's choice: its namespace is still there.
    assert stream(run_to_end(client, victim, "query", "print(kept)"), "stdout") == "namespace\n"
    assert_survived(client, docker_client, victim, bystander)
