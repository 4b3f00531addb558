"""A kernel can ask for a fraction of a core: it is pinned to one core and gets that share of it."""

from __future__ import annotations

import uuid

import docker

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from worker.runtime import host


def test_half_a_core_is_pinned_to_one_core_with_half_its_time(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient) -> None:
    session, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
    [info] = client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], wait=120,
                         raw_configs=[kernel_config(kernel_image, resource_slots={"cpu": 0.5, "mem": "256m"})])
    try:
        assert info["resource_spec"]["slots"]["cpu"] == "0.5" and len(info["resource_spec"]["cpu_set"]) == 1
        hc = docker_client.containers.get(info["container_id"]).attrs["HostConfig"]
        assert hc["NanoCpus"] == 500_000_000 and hc["CpusetCpus"] == str(info["resource_spec"]["cpu_set"][0])
        core = info["resource_spec"]["cpu_set"][0]
        resource_txt = (host().settings.scratch_dir / kernel_id / "config" / "resource.txt").read_text()
        assert f"CPU_SHARES={core}:0.5" in resource_txt
    finally:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session)
