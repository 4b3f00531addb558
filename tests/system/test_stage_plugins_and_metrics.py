"""A stage plugin installed from tests/plugins (entry point group `kernel_agent.stages`) in a real
agent-worker: it runs in the pipeline, is timed, shows in the graph, and is torn down on a later
failure; plugins that fail to load are reported and skipped. The same agent serves its Prometheus
metrics (`AGENT_METRICS_PORT`): per-stage histograms, creations by outcome, live kernels, execute."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import redis
from celery import Celery

from agent_client.client import AgentClient
from agent_client.events import read_all
from tests.support.agent_process import REPO, AgentProcess, new_agent_id
from tests.support.docker_cleanup import TEST_LABEL

pytestmark = pytest.mark.system

PLUGIN_SOURCE = REPO / "tests" / "plugins" / "stage_plugin"
IMAGE = "kernel-python:latest"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PluginAgent:
    def __init__(self, proc: AgentProcess, client: AgentClient, journal: Path, metrics_port: int) -> None:
        self.proc, self.client, self.journal, self.metrics_port = proc, client, journal, metrics_port

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            return str(r.read().decode())

    def create(self, image: str = IMAGE) -> tuple[str, str]:
        session, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], wait=120,
                         raw_configs=[{"image": {"canonical": image, "is_local": True},
                                       "resource_slots": {"cpu": 1, "mem": "256m"}}])
        return kernel_id, session


@pytest.fixture(scope="module")
def agent(redis_url: str, client_app: Celery, tmp_path_factory: Any, kernel_image: str) -> Iterator[PluginAgent]:
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(PLUGIN_SOURCE, source)  # pip builds in place: keep the repo clean
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(work / "site"), str(source)], check=True, timeout=120)
    journal, port, low = work / "journal.txt", free_port(), random.randrange(20000, 29000, 100)
    proc = AgentProcess(new_agent_id("plugin"), redis_url, extra_env={
        "PYTHONPATH": str(work / "site"), "STAGE_PLUGIN_JOURNAL": str(journal),
        "AGENT_METRICS_PORT": str(port), "AGENT_PORT_RANGE": f"[{low}, {low + 99}]"})
    try:
        proc.wait_alive()
        yield PluginAgent(proc, AgentClient(proc.agent_id, redis_url, app=client_app, default_timeout=120),
                          journal, port)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def kernel_image() -> str:
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True)
    return IMAGE


def test_the_agent_lists_its_plugins_at_start_and_in_the_graph(agent: PluginAgent) -> None:
    log = agent.proc.log()
    assert "stage plugin motd = kernel_agent_test_plugin:MotdStage: ['motd']" in log
    assert "stage plugin broken = kernel_agent_test_plugin.missing:Nothing: skipped (ModuleNotFoundError" in log
    graph = agent.client.call("describe_pipeline")
    motd = next(s for s in graph["stages"] if s["name"] == "motd")
    assert motd["origin"] == "motd = kernel_agent_test_plugin:MotdStage" and motd["after"] == ["scratch"]
    kernel_object = next(s for s in graph["stages"] if s["name"] == "kernel_object")
    assert "motd" in kernel_object["after"]  # it provides config_files, which the record waits for
    errors = {p["entry_point"].split(" ")[0]: p["error"] for p in graph["plugins"]}
    assert errors["motd"] is None and "ModuleNotFoundError" in errors["broken"]
    assert "a_fact_nobody_provides" in errors["unfit"]


def test_a_plugin_stage_runs_is_timed_and_its_file_is_in_the_kernel(
        agent: PluginAgent, redis_url: str, docker_engine: docker.DockerClient) -> None:
    kernel_id, session = agent.create()
    try:
        container = docker_engine.containers.get(f"kernel.{kernel_id}")
        out = container.exec_run(["cat", "/home/config/motd.txt"], user="1000:1000").output.decode()
        assert out == f"welcome to kernel {kernel_id}\n"
        r = redis.Redis.from_url(redis_url)
        events = [e for e in read_all(r) if e.source == agent.proc.agent_id and e.payload.get("kernel_id") == kernel_id]
        r.close()
        stages = [e.payload["stage"] for e in events if e.name == "kernel_stage"]
        assert "motd" in stages and stages.index("scratch") < stages.index("motd") < stages.index("kernel_object")
        [started] = [e for e in events if e.name == "kernel_started"]
        assert started.payload["creation_info"]["stage_timings"]["motd"] >= 0.05
        assert (agent.journal.read_text().splitlines()) == [f"setup {kernel_id}"]
    finally:
        agent.client.call("destroy_kernel", kernel_id=kernel_id, session_id=session)
    assert f"teardown {kernel_id}" in agent.journal.read_text()


def test_a_later_failure_tears_the_plugin_stage_down(agent: PluginAgent, docker_engine: docker.DockerClient,
                                                     tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {IMAGE}\nLABEL {TEST_LABEL}=1\nRUN rm -f /usr/bin/python3*\n")
    tag = f"test-nopython:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(tmp_path)], check=True, capture_output=True)
    try:
        with pytest.raises(RuntimeError, match="before its runner answered"):
            agent.create(tag)
    finally:
        docker_engine.images.remove(tag, force=True)
    lines = agent.journal.read_text().splitlines()
    failed = lines[-2].split()[1]
    assert lines[-2:] == [f"setup {failed}", f"teardown {failed}"]
    assert 'kernel_agent_kernel_creations_total{outcome="failed"} 1.0' in agent.metrics()


def test_metrics_serve_stage_histograms_outcomes_live_kernels_and_execute(agent: PluginAgent) -> None:
    kernel_id, session = agent.create()
    try:
        reply = agent.client.call("execute", session_id=session, kernel_id=kernel_id, mode="query",
                                  code="print(1)", opts={}, flush_timeout=2)
        assert reply["status"] == "finished"
        text = agent.metrics()
        assert 'kernel_agent_stage_seconds_count{stage="motd"}' in text
        assert 'kernel_agent_stage_seconds_bucket{le="0.1",stage="container_creation"}' in text
        assert 'kernel_agent_kernel_creations_total{outcome="created"}' in text
        assert "kernel_agent_live_kernels 1.0" in text
        assert 'kernel_agent_execute_seconds_count{mode="query"} 1.0' in text
        assert "kernel_agent_runner_connections_total" in text
    finally:
        agent.client.call("destroy_kernel", kernel_id=kernel_id, session_id=session)
    text = agent.metrics()
    assert "kernel_agent_live_kernels 0.0" in text
    assert 'kernel_agent_kernel_ends_total{reason="user-requested"}' in text
