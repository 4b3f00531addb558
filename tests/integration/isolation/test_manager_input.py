"""Manager input that would undo the hardening is refused naming the field, with nothing made on the
host; what the settings allow still works (a vfolder below a root, a session's own network)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import EventLog, kernel_config
from tests.integration.isolation.conftest import run_in
from tests.support.docker_cleanup import TEST_LABEL
from tests.support.host_state import assert_host_clean
from worker.config import AgentSettings
from worker.runtime import host
from worker.state.kernels import KernelRecord


def refused(client: AgentClient, image: str, field: str, docker_client: docker.DockerClient, events: EventLog,
            session_id: str | None = None, **config: Any) -> None:
    """create_kernels with `config` fails with a ValueError naming `field`; nothing of the kernel exists."""
    kernel_id = str(uuid.uuid4())
    with pytest.raises(ValueError, match=rf"{field}: "):
        client.call("create_kernels", raw_session_id=session_id or str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                    raw_configs=[kernel_config(image, **config)], wait=60)
    assert_host_clean(kernel_id, docker_client)
    assert [e for e in events.since() if e.payload.get("kernel_id") == kernel_id] == []  # not even kernel_preparing


@pytest.fixture
def vfolder(settings: AgentSettings, unique: str) -> Path:
    """A directory below the configured vfolder root, with a file in it."""
    d = settings.vfolder_roots[0] / f"vf-{unique}"
    d.mkdir()
    (d / "hello.txt").write_text("hello from the vfolder\n")
    return d


@pytest.mark.parametrize(("config", "field"), [
    ({"uid": 0}, r"raw_configs\.0\.uid"),
    ({"main_gid": 0}, r"raw_configs\.0\.main_gid"),
    ({"supplementary_gids": [100, 0]}, r"raw_configs\.0\.supplementary_gids\.1"),
    ({"mounts": [{"name": "root", "host_path": "/", "kernel_path": "/mnt"}]}, r"raw_configs\.0\.mounts\.0\.host_path"),
    ({"mounts": [{"name": "db", "host_path": "/etc/shadow", "kernel_path": "/x"}]},
     r"raw_configs\.0\.mounts\.0\.host_path"),
])
def test_root_ids_and_host_paths_outside_the_vfolder_roots_are_refused_naming_the_field(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        config: dict[str, Any], field: str) -> None:
    refused(client, kernel_image, field, docker_client, events, **config)


def test_a_vfolder_reached_through_a_link_below_the_root_is_refused(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        settings: AgentSettings, vfolder: Path, unique: str) -> None:
    link = settings.vfolder_roots[0] / f"link-{unique}"
    link.symlink_to("/etc")
    try:
        refused(client, kernel_image, r"raw_configs\.0\.mounts\.0\.host_path", docker_client, events,
                mounts=[{"name": "etc", "host_path": f"{link}", "kernel_path": "/mnt"}])
    finally:
        link.unlink()


def test_a_vfolder_below_the_root_is_mounted_from_its_real_path(
        client: AgentClient, make_kernel: Any, docker_client: docker.DockerClient, vfolder: Path) -> None:
    k = make_kernel(mounts=[{"name": "data", "host_path": f"{vfolder}/", "kernel_path": "/data", "mount_perm": "ro"}])
    mounts = {m["Destination"]: m for m in docker_client.containers.get(k.container_id).attrs["Mounts"]}
    assert mounts["/data"]["Source"] == str(vfolder.resolve()) and mounts["/data"]["RW"] is False
    assert run_in(client, k, "print(open('/data/hello.txt').read(), end='')") == "hello from the vfolder\n"


def test_networks_the_agent_did_not_make_for_a_session_are_refused_in_either_field(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        unique: str) -> None:
    foreign = docker_client.networks.create(f"foreign-{unique}", driver="bridge", labels={TEST_LABEL: "1"})
    try:
        for name in (foreign.name, "bridge", "host", "none"):
            refused(client, kernel_image, r"raw_configs\.0\.network_id", docker_client, events, network_id=name)
        kernel_id = str(uuid.uuid4())
        with pytest.raises(ValueError, match=r"raw_cluster_info\.network_config\.network_name: .*not made by"):
            client.call("create_kernels", raw_session_id=str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                        raw_configs=[kernel_config(kernel_image)],
                        raw_cluster_info={"network_config": {"network_name": foreign.name}}, wait=60)
        assert_host_clean(kernel_id, docker_client)
        foreign.reload()
        assert foreign.attrs["Containers"] == {}
    finally:
        foreign.remove()


def test_a_session_network_is_refused_to_another_session_while_the_first_sessions_kernels_use_it(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        make_session: Callable[..., list[KernelRecord]], session_network: Callable[[str], str]) -> None:
    network = session_network("bound")
    [first] = make_session(["main1"], network)
    refused(client, kernel_image, r"raw_configs\.0\.network_id", docker_client, events, network_id=network)
    assert host().registry.get(first.kernel_id).state == "running"
    client.call("destroy_kernel", kernel_id=first.kernel_id, session_id=first.session_id, suppress_events=True)
    [second] = make_session(["main1"], network)  # free again once the first session's kernels are gone
    assert host().network_bindings.other_session(network, second.session_id) is None
