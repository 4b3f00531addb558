"""A second creation of a kernel id that is being created is refused and never tears down the
first; kernels created, used and destroyed leave no open connection behind in the agent."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import Counter
from typing import Any

import docker

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from tests.support.host_state import assert_host_clean
from worker.runtime import host


def test_a_duplicate_creation_is_refused_and_never_tears_down_the_other(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient) -> None:
    kernel_id = str(uuid.uuid4())
    sessions = [str(uuid.uuid4()), str(uuid.uuid4())]
    sent = [client.send("create_kernels", raw_session_id=s, raw_kernel_ids=[kernel_id],
                        raw_configs=[kernel_config(kernel_image)]) for s in sessions]
    outcomes = [r.get(timeout=120, propagate=False) for r in sent]
    winners = [s for s, o in zip(sessions, outcomes, strict=True) if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    try:
        assert len(winners) == 1 and len(refused) == 1 and "already exists" in str(refused[0])
        containers = docker_client.containers.list(filters={"label": f"ai.backend.kernel-id={kernel_id}"})
        assert [c.labels["ai.backend.session-id"] for c in containers] == winners  # running, untouched
        reply = client.call("execute", session_id=winners[0], kernel_id=kernel_id, mode="query", code="print(1)",
                            opts={}, flush_timeout=5)
        assert reply["console"] == [["stdout", "1\n"]]
    finally:
        for s in winners:
            client.call("destroy_kernel", kernel_id=kernel_id, session_id=s)
    assert_host_clean(kernel_id, docker_client)


# Kernels made, used and destroyed while the fds are counted; a leak of one per kernel shows as
# KERNELS more, while the pools of the Docker and Redis clients may still grow by a few under the
# suite's earlier load (SLACK)
KERNELS, SLACK = 6, 3


def open_fds() -> list[str]:
    """What this process's fds are open on (one closed meanwhile is left out)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sorted(found)


def test_kernels_created_used_and_destroyed_leave_no_open_fd_behind(
        client: AgentClient, make_kernel: Any) -> None:
    sockets = []

    def used_and_destroyed() -> None:
        k = make_kernel()
        sockets.append(k.runner_socket)
        client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="query", code="1",
                    opts={}, flush_timeout=5)
        client.call("ping_kernel", kernel_id=k.kernel_id)
        client.call("destroy_kernel", kernel_id=k.kernel_id, session_id=k.session_id, suppress_events=True)

    for _ in range(8):  # warm: Docker's and Redis's connection pools grow to their size, then stay
        used_and_destroyed()
    fds, before = len(os.listdir("/proc/self/fd")), Counter(open_fds())
    for _ in range(KERNELS):
        used_and_destroyed()
    assert [host().runners.idle_to(s) for s in sockets] == [0] * len(sockets)  # closed with their kernels
    # an fd of a call in flight (the reconciler's Docker request, a Redis reconnect) comes and goes;
    # a leaked one stays
    deadline = time.monotonic() + 5
    while len(os.listdir("/proc/self/fd")) > fds + SLACK and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(os.listdir("/proc/self/fd")) <= fds + SLACK, sorted((Counter(open_fds()) - before).elements())
