"""The compose cluster as a user runs it (`scripts/cluster up`): a kernel on each agent through
AgentClient, Flower's API and its pages in a real browser, an agent container restarted and the
whole cluster taken down and up again with the kernels kept, then destroyed leaving the host clean.
One cluster for the module; the tests run in order."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.compose_cluster import ComposeCluster
from tests.support.docker_cleanup import docker_client
from tests.support.flower_browser import flower_browser

pytestmark = [pytest.mark.system, pytest.mark.cluster]
KERNEL_IMAGE = "kernel-python:latest"


class Kernel:
    def __init__(self, client: AgentClient, kernel_id: str, session_id: str, creation_task: str) -> None:
        self.client, self.kernel_id, self.session_id, self.creation_task = client, kernel_id, session_id, creation_task

    def run(self, code: str) -> list[list[Any]]:
        r = self.client.call("execute", session_id=self.session_id, kernel_id=self.kernel_id, mode="query",
                             code=code, run_id=None, flush_timeout=5.0)
        assert r["status"] == "finished", r
        return list(r["console"])


@pytest.fixture(scope="module")
def cluster(docker_engine: object) -> Iterator[ComposeCluster]:
    c = ComposeCluster()
    try:
        started = time.monotonic()
        c.script("up")
        print(f"cluster up in {time.monotonic() - started:.1f} s")
        c.wait_for_flower_workers()
        yield c
    finally:
        c.tear_down(docker_client())  # when a test failed before the last one destroyed it


@pytest.fixture(scope="module")
def kernels(cluster: ComposeCluster, docker_engine: docker.DockerClient) -> dict[str, Kernel]:
    """One kernel on each agent, made through AgentClient (the cluster's destroy removes them)."""
    made = {}
    for agent_id in cluster.agent_ids:
        client = AgentClient(agent_id, cluster.redis_url, default_timeout=120)
        kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
        result = client.send("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                             raw_configs=[{"image": {"canonical": KERNEL_IMAGE, "is_local": True},
                                           "resource_slots": {"cpu": 1, "mem": "256m"}}])
        assert result.get(timeout=120)[0]["id"] == kernel_id
        made[agent_id] = Kernel(client, kernel_id, session_id, result.id)
    return made


def test_a_kernel_on_each_agent_runs_code_and_each_agent_knows_only_its_own(
        cluster: ComposeCluster, kernels: dict[str, Kernel], docker_engine: docker.DockerClient) -> None:
    for agent_id, k in kernels.items():
        assert k.run(f"print('hello from', {agent_id!r})") == [["stdout", f"hello from {agent_id}\n"]]
        (container,) = docker_engine.containers.list(filters={"label": f"ai.backend.kernel-id={k.kernel_id}"})
        assert container.labels["ai.backend.owner"] == agent_id
        assert [x["kernel_id"] for x in k.client.call("list_kernels")] == [k.kernel_id]


def test_flower_needs_its_credentials_and_shows_both_workers_and_the_tasks_as_they_ended(
        cluster: ComposeCluster, kernels: dict[str, Kernel]) -> None:
    assert cluster.flower("/api/workers", auth=False).status_code == 401
    workers = cluster.flower("/api/workers?refresh=1").json()
    assert {f"agent@{a}" for a in cluster.agent_ids} <= set(workers)
    assert len(cluster.wait_for_flower_workers()) == 2
    deadline = time.monotonic() + 30
    while True:  # Flower learns from events, which come a little after the results
        tasks = cluster.flower("/api/tasks").json()
        creations = [tasks.get(k.creation_task, {}) for k in kernels.values()]
        if all(t.get("state") == "SUCCESS" for t in creations) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for k, creation in zip(kernels.values(), creations, strict=True):
        assert (creation["name"], creation["state"]) == ("agent.create_kernels", "SUCCESS"), creation
        steps = [t for t in tasks.values() if t.get("parent_id") == k.creation_task]
        assert [(t["name"], t["state"]) for t in steps] == [("agent.kernels.provision", "SUCCESS")]
    executes = [t for t in tasks.values() if t["name"] == "agent.execute"]
    assert len(executes) >= 2 and {t["state"] for t in executes} == {"SUCCESS"}  # none stuck PENDING


def test_flower_in_a_browser_after_logging_in_shows_both_workers_and_a_finished_creation(
        cluster: ComposeCluster, kernels: dict[str, Kernel]) -> None:
    with flower_browser(cluster.flower_url, cluster.flower_auth) as flower:
        flower.log_in()
        flower.open_workers()
        for agent_id in cluster.agent_ids:
            flower.wait_for_text(f"agent@{agent_id}")
        flower.screenshot("flower-workers.png")
        flower.open_tasks()
        flower.wait_for_row("agent.create_kernels", "SUCCESS")
        flower.screenshot("flower-tasks.png")


def test_a_restarted_agent_container_reattaches_its_kernel(
        cluster: ComposeCluster, kernels: dict[str, Kernel], docker_engine: docker.DockerClient) -> None:
    agent_id = cluster.agent_ids[0]
    k = kernels[agent_id]
    (before,) = docker_engine.containers.list(filters={"label": f"ai.backend.kernel-id={k.kernel_id}"})
    k.run("x = 41")
    cluster.script("compose", "restart", "agent-1")  # SIGINT: the agent stops, its kernels stay
    cluster.script("up")  # waits until both agents are alive again
    (after,) = docker_engine.containers.list(filters={"label": f"ai.backend.kernel-id={k.kernel_id}"})
    assert after.id == before.id
    assert k.run("print(x + 1)") == [["stdout", "42\n"]]  # the same interpreter, re-attached
    assert [x["state"] for x in k.client.call("list_kernels")] == ["running"]


def test_down_and_up_keep_every_kernel(cluster: ComposeCluster, kernels: dict[str, Kernel]) -> None:
    cluster.script("down")
    cluster.script("up")
    cluster.wait_for_flower_workers()
    for k in kernels.values():
        assert k.run("print('still here')") == [["stdout", "still here\n"]]


def test_destroy_leaves_the_host_clean(cluster: ComposeCluster, docker_engine: docker.DockerClient) -> None:
    assert cluster.leftovers(docker_engine)
    cluster.script("destroy")
    assert cluster.leftovers(docker_engine) == []
