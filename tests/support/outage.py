"""What the Redis outage and failover system tests check on a real agent: that it serves again
(a ping round trip), how soon, and that a kernel left nothing behind."""

from __future__ import annotations

import gc
import time

import docker
import redis
from celery.exceptions import TimeoutError as ResultTimeout

from agent_client.client import AgentClient
from contract.errors import AgentUnavailable
from tests.support.agent_process import AgentProcess

SERVING_AGAIN_S = 60.0  # the promise: serving within a minute of Redis being back


def wait_for_log(agent: AgentProcess, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in agent.log():
        assert agent.proc.poll() is None, f"agent-worker exited:\n{agent.log()}"
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log:\n{agent.log()}"
        time.sleep(0.05)


def seconds_until_it_serves(client: AgentClient, agent: AgentProcess) -> float:
    """Ping until a round trip succeeds; the seconds it took (the worker must not exit meanwhile)."""
    start = time.monotonic()
    while True:
        assert agent.proc.poll() is None, f"agent-worker exited:\n{agent.log()}"
        try:
            assert client.call("ping", msg="back", wait=5) == "back"
            return time.monotonic() - start
        except (AgentUnavailable, redis.RedisError, ResultTimeout):
            assert time.monotonic() - start < SERVING_AGAIN_S, f"not serving {SERVING_AGAIN_S} s later:\n{agent.log()}"
            time.sleep(0.2)


def assert_kernel_gone(d: docker.DockerClient, agent: AgentProcess, kernel_id: str) -> None:
    assert d.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}) == []
    assert not (agent.var_dir / "scratches" / kernel_id).exists()
    assert not (agent.var_dir / "ipc" / kernel_id).exists()


def wait_for_container(d: docker.DockerClient, agent: AgentProcess, kernel_id: str, timeout: float = 60.0) -> None:
    """Until the kernel's container exists: its creation is in its last stage (the runner's handshake)."""
    deadline = time.monotonic() + timeout
    while not d.containers.list(filters={"label": f"ai.backend.kernel-id={kernel_id}"}):
        assert time.monotonic() < deadline, agent.log()
        time.sleep(0.05)


def drop_results() -> None:
    """Collect the manager's AsyncResults now, while their Redis is still up: each sits in a
    reference cycle, and its `__del__` unsubscribes from Redis, retrying for minutes when Redis is
    gone by the time the garbage collector gets to it."""
    gc.collect()
