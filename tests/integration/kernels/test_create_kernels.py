"""create_kernels against real Docker: the pipeline's effects, its events, and clean failures."""

from __future__ import annotations

import platform
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import EventLog, kernel_config
from tests.support.host_state import assert_host_clean
from worker.runtime import host


def new_ids(n: int = 1) -> tuple[str, list[str]]:
    return str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(n)]


def create(client: AgentClient, session_id: str, kernel_ids: list[str], configs: list[dict[str, Any]],
           **extra: Any) -> list[dict[str, Any]]:
    return list(client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=kernel_ids,
                            raw_configs=configs, wait=120, **extra))


def destroy(client: AgentClient, session_id: str, *kernel_ids: str) -> None:
    for k in kernel_ids:
        client.call("destroy_kernel", kernel_id=k, session_id=session_id)


def test_one_kernel_is_created_with_its_container_scratch_files_and_events(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog) -> None:
    session_id, (kernel_id,) = new_ids()
    config = kernel_config(kernel_image, environ={"GREETING": "hi"}, bootstrap_script="echo boot > /home/work/b",
                           internal_data={"dotfiles": [{"path": ".bashrc.d/x", "data": "alias x=y", "perm": "600"}]})
    [result] = create(client, session_id, [kernel_id], [config])
    try:
        assert result["id"] == kernel_id and result["container_id"]
        assert result["resource_spec"]["slots"]["cpu"] == "1"
        assert result["agent_addr"] == host().settings.queue and result["scaling_group"] == "default"
        [port] = result["service_ports"]
        assert port["name"] == "http-server" and port["container_ports"] == [8080]

        c = docker_client.containers.get(result["container_id"])
        assert c.status == "running"
        assert c.labels["ai.backend.kernel-id"] == kernel_id
        assert c.labels["ai.backend.session-id"] == session_id
        assert c.labels["ai.backend.owner"] == host().settings.id
        hc = c.attrs["HostConfig"]
        assert hc["Privileged"] is False and "no-new-privileges" in hc["SecurityOpt"] and hc["CapDrop"] == ["ALL"]
        assert hc["Memory"] == 256 << 20 and hc["CpusetCpus"] == str(result["resource_spec"]["cpu_set"][0])
        assert c.attrs["Config"]["User"] == "1000:1000"
        assert hc["PortBindings"]["8080/tcp"][0]["HostPort"] == str(port["host_ports"][0])
        targets = {m["Destination"]: m for m in c.attrs["Mounts"]}
        assert targets["/home/config"]["RW"] is False and targets["/home/work"]["RW"] is True
        assert targets["/opt/kernel/runner"]["RW"] is False

        scratch = host().settings.scratch_dir / kernel_id
        work = scratch / "work"
        assert (work.stat().st_uid, work.stat().st_gid) == (1000, 1000)
        environ = (scratch / "config" / "environ.txt").read_text()
        assert "GREETING=hi" in environ and f"BACKENDAI_KERNEL_ID={kernel_id}" in environ
        assert (scratch / "config" / "environ_base.txt").read_text() == environ
        assert "CPU_SHARES=" in (scratch / "config" / "resource.txt").read_text()
        assert (work / "bootstrap.sh").read_text() == "echo boot > /home/work/b"
        assert (work / ".bashrc.d" / "x").read_text() == "alias x=y\n"
        assert oct((work / ".bashrc.d" / "x").stat().st_mode & 0o777) == "0o600"
        # the environment reached the container, and the kernel user can write its work dir
        out = c.exec_run(["sh", "-c", "echo $GREETING; id -u; touch /home/work/new && echo ok"]).output.decode()
        assert out.split() == ["hi", "1000", "ok"]

        rec = host().registry.get(kernel_id)
        assert rec.state == "running" and rec.container_id == result["container_id"]
        names = [e.name for e in events.since() if e.payload.get("kernel_id") == kernel_id]
        stages = [e.payload["stage"] for e in events.named("kernel_stage") if e.payload["kernel_id"] == kernel_id]
        assert [n for n in names if n != "kernel_stage"] == ["kernel_preparing", "kernel_creating", "kernel_started"]
        assert names.index("kernel_started") > max(i for i, n in enumerate(names) if n == "kernel_stage")
        assert sorted(stages) == sorted(s.name for s in host().pipeline.stages())  # one per stage
        started = events.named("kernel_started")[-1]
        assert started.payload["creation_info"]["container_id"] == result["container_id"]
    finally:
        destroy(client, session_id, kernel_id)
    assert_host_clean(kernel_id, docker_client)


def test_a_three_kernel_cluster_shares_a_bridge_network_where_hostnames_resolve(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, unique: str) -> None:
    session_id, kernel_ids = new_ids(3)
    network = f"test-cluster-{unique}"
    client.create_local_network(network)
    hostnames = ["main1", "sub1", "sub2"]
    configs = [kernel_config(kernel_image, cluster_role="main" if i == 0 else "sub", cluster_idx=i + 1,
                             cluster_hostname=h, network_id=network) for i, h in enumerate(hostnames)]
    try:
        results = create(client, session_id, kernel_ids, configs, raw_cluster_info={"size": 3})
        assert [r["id"] for r in results] == kernel_ids
        assert results[1]["service_ports"] == []  # services are published on the main kernel only
        main = docker_client.containers.get(results[0]["container_id"])
        probe = "import socket,sys; print(' '.join(socket.gethostbyname(h) for h in sys.argv[1:]))"
        out = main.exec_run(["python3", "-c", probe, *hostnames]).output.decode().split()
        assert len(out) == 3 and all(ip.count(".") == 3 for ip in out) and len(set(out)) == 3
    finally:
        destroy(client, session_id, *kernel_ids)
        client.destroy_local_network(network)
    for k in kernel_ids:
        assert_host_clean(k, docker_client)


def test_a_missing_image_that_cannot_be_pulled_leaves_nothing(
        client: AgentClient, docker_client: docker.DockerClient, events: EventLog) -> None:
    session_id, (kernel_id,) = new_ids()
    config = {"image": {"canonical": "127.0.0.1:9/nowhere/nothing:1", "auto_pull": "tag"},
              "resource_slots": {"cpu": 1, "mem": "256m"}}
    with pytest.raises(RuntimeError, match=r"pulling 127\.0\.0\.1:9/nowhere/nothing:1 failed"):
        create(client, session_id, [kernel_id], [config])
    assert_host_clean(kernel_id, docker_client)
    names = [e.name for e in events.since() if e.payload.get("kernel_id") == kernel_id and e.name != "kernel_stage"]
    assert names[:2] == ["kernel_preparing", "kernel_pulling"] and names[-1] == "kernel_terminated"
    assert events.named("kernel_terminated")[-1].payload["reason"] == "failed-to-create"
    assert [e.name for e in events.named("image_pull_started", "image_pull_failed")] == [
        "image_pull_started", "image_pull_failed"]


@pytest.mark.parametrize("slots", [{"cpu": 64, "mem": "256m"}, {"cpu": 1, "mem": "4096g"}])
def test_more_than_the_host_has_emits_a_resource_check_and_leaves_nothing(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        slots: dict[str, Any]) -> None:
    session_id, (kernel_id,) = new_ids()
    with pytest.raises(RuntimeError, match="asks for"):
        create(client, session_id, [kernel_id], [kernel_config(kernel_image, resource_slots=slots)])
    assert_host_clean(kernel_id, docker_client)
    assert events.named("do_agent_resource_check")[-1].payload["agent_id"] == host().settings.id


@pytest.fixture(scope="module")
def derived_image(docker_engine: docker.DockerClient, kernel_image: str, tmp_path_factory: Any) -> Iterator[Any]:
    """`derived_image(name, dockerfile_lines)`: a test image built FROM the kernel image, offline
    (removed after the module)."""
    tags: list[str] = []

    def build(name: str, lines: str) -> str:
        d = tmp_path_factory.mktemp(name)
        (d / "Dockerfile").write_text(f"FROM {kernel_image}\n{lines}\n")
        tag = f"test-{name}:{uuid.uuid4().hex[:8]}"
        done = subprocess.run(["docker", "build", "-q", "-t", tag, str(d)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        tags.append(tag)
        return tag

    yield build
    for tag in tags:
        docker_engine.images.remove(tag, force=True)


def test_a_runner_that_never_answers_fails_to_start_and_leaves_nothing(
        client: AgentClient, derived_image: Any, docker_client: docker.DockerClient, events: EventLog,
        monkeypatch: pytest.MonkeyPatch) -> None:
    silent_image = derived_image("silent", "RUN rm -f /usr/bin/python3 && printf"
                                 "  '#!/bin/sh\\nexec sleep 600\\n' > /usr/bin/python3"
                                 " && chmod +x /usr/bin/python3")
    monkeypatch.setattr(host().settings, "runner_handshake_timeout", 1.5)
    session_id, (kernel_id,) = new_ids()
    with pytest.raises(RuntimeError, match="handshake"):
        create(client, session_id, [kernel_id], [kernel_config(silent_image)])
    assert_host_clean(kernel_id, docker_client)
    assert events.named("kernel_terminated")[-1].payload["reason"] == "failed-to-start"


def test_an_image_without_python_fails_to_start_at_once_and_leaves_nothing(
        client: AgentClient, derived_image: Any, docker_client: docker.DockerClient, events: EventLog) -> None:
    image = derived_image("nopython", "RUN rm -f /usr/bin/python3*")
    session_id, (kernel_id,) = new_ids()
    with pytest.raises(RuntimeError, match="exited with code"):
        create(client, session_id, [kernel_id], [kernel_config(image)])
    assert_host_clean(kernel_id, docker_client)
    assert events.named("kernel_terminated")[-1].payload["reason"] == "failed-to-start"


def test_a_stage_failing_half_way_tears_down_what_was_set_up(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.stages.config_files import DotfilesStage

    def broken(self: object, spec: object) -> None:
        raise OSError("disk on fire (injected)")

    monkeypatch.setattr(DotfilesStage, "setup", broken)
    session_id, (kernel_id,) = new_ids()
    with pytest.raises(RuntimeError, match="disk on fire"):
        create(client, session_id, [kernel_id], [kernel_config(kernel_image)])
    assert_host_clean(kernel_id, docker_client)
    assert events.named("kernel_terminated")[-1].payload["reason"] == "failed-to-create"


def test_mock_devices_are_mounted_exclusive_and_recorded(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient) -> None:
    session_id, kernel_ids = new_ids(3)
    one = {"cpu": 1, "mem": "256m", "mock.device": 1}
    a, b = (create(client, session_id, [k], [kernel_config(kernel_image, resource_slots=one)])[0]
            for k in kernel_ids[:2])
    try:
        dev_a, dev_b = (r["attached_devices"]["mock"][0]["device_id"] for r in (a, b))
        assert dev_a != dev_b
        c = docker_client.containers.get(a["container_id"])
        out = c.exec_run(["sh", "-c", f"cat /opt/kernel/devices/mock/{dev_a}; echo $MOCK_VISIBLE_DEVICES"])
        assert out.output.decode().split("\n")[:2] == [f"mock device {dev_a[-1]}", dev_a]
        resource_txt = (host().settings.scratch_dir / a["id"] / "config" / "resource.txt").read_text()
        assert f"MOCK.DEVICE_SHARES={dev_a}:1" in resource_txt
        with pytest.raises(RuntimeError, match="mock devices"):  # both devices are taken
            create(client, session_id, [kernel_ids[2]], [kernel_config(kernel_image, resource_slots=one)])
        assert_host_clean(kernel_ids[2], docker_client)
    finally:
        destroy(client, session_id, *kernel_ids[:2])


@pytest.mark.parametrize("change, field", [
    ({"resource_slots": {"cpu": 1, "mem": "256m", "tpu": 2}}, "tpu"),
    ({"resource_slots": {"cpu": 1, "mem": -5}}, "mem"),
    ({"image": None}, "image"),
])
def test_bad_configs_are_refused_and_create_nothing(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, change: dict[str, Any],
        field: str) -> None:
    session_id, (kernel_id,) = new_ids()
    config = kernel_config(kernel_image) | change
    if change.get("image", 1) is None:
        del config["image"]
    with pytest.raises(ValueError, match=field):
        create(client, session_id, [kernel_id], [config])
    assert_host_clean(kernel_id, docker_client)


def test_a_malformed_kernel_id_is_refused(client: AgentClient, kernel_image: str) -> None:
    with pytest.raises(ValueError, match="raw_kernel_ids"):
        create(client, str(uuid.uuid4()), ["not-a-uuid"], [kernel_config(kernel_image)])


def test_a_kernel_destroyed_while_being_created_is_not_brought_back(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.stages.config_files import DotfilesStage, WrittenFiles

    def destroyed_meanwhile(self: object, spec: object) -> WrittenFiles:
        host().registry.remove(kernel_id)  # what a destroy winning the race leaves
        return WrittenFiles()

    monkeypatch.setattr(DotfilesStage, "setup", destroyed_meanwhile)
    session_id, (kernel_id,) = new_ids()
    with pytest.raises(RuntimeError, match="destroyed while it was being created"):
        create(client, session_id, [kernel_id], [kernel_config(kernel_image)])
    assert_host_clean(kernel_id, docker_client)
    # the destroy said kernel_terminated; the creation does not say it a second time
    assert [e for e in events.named("kernel_terminated") if e.payload["kernel_id"] == kernel_id] == []


def test_an_image_built_for_another_architecture_is_refused_before_anything_is_made(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient) -> None:
    session_id, (kernel_id,) = new_ids()
    other = "aarch64" if platform.machine() in ("x86_64", "amd64") else "x86_64"
    with pytest.raises(ValueError, match="architecture"):
        create(client, session_id, [kernel_id], [kernel_config(kernel_image)],
               kernel_image_refs={kernel_id: {"name": "kernel-python", "is_local": True, "architecture": other}})
    assert_host_clean(kernel_id, docker_client)
    same = "amd64" if platform.machine() == "x86_64" else platform.machine()
    [made] = create(client, session_id, [kernel_id], [kernel_config(kernel_image)],
                    kernel_image_refs={kernel_id: {"name": "kernel-python", "is_local": True, "architecture": same}})
    destroy(client, session_id, made["id"])
