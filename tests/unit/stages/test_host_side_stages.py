"""The host-side stages, each on its own: spec from a context, setup's effect, teardown's undoing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from contract.errors import KernelCreationFailed, ResourceExhausted
from contract.kernels import KernelCreationConfig
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.resources.allocator import Allocator, HostCapacity, PortPool
from worker.stages.cmdarg import CmdArgStage
from worker.stages.config_files import ConfigFileStage, CredentialsStage, DotfilesStage
from worker.stages.environ import EnvironStage
from worker.stages.image import ImageInfo, ImagePullStage
from worker.stages.kernel_object import KernelObjectStage
from worker.stages.mounts import IntrinsicMountStage, KernelRunnerMountStage, VFolderMountStage, all_mounts
from worker.stages.ports import ServicePortsStage
from worker.stages.resource import ResourceStage
from worker.stages.scratch import ScratchStage
from worker.stages.ssh import ContainerSSHStage
from worker.state.db import StateDB


def done(ctx: KernelContext, stage: Any) -> Any:
    """Run one stage as the executor does and record its output."""
    resource = stage.setup(stage.spec(ctx))
    ctx.record(stage.name, resource, 0.0)
    return resource


def with_config(ctx: KernelContext, **changes: Any) -> KernelContext:
    ctx.kernel_config = KernelCreationConfig.model_validate(ctx.kernel_config.model_dump() | changes)
    return ctx


def test_resource_allocates_pinned_cores_and_memory_and_releases_them(ctx: KernelContext, db: StateDB) -> None:
    allocator = Allocator(db, HostCapacity(cores=(0, 1), mem=1 << 30))
    alloc = done(ctx, ResourceStage(allocator))
    assert alloc.cores and alloc.mem == 256 << 20 and allocator.of(ctx.kernel_id) is not None
    ResourceStage(allocator).teardown(alloc)
    assert allocator.of(ctx.kernel_id) is None


def test_resource_refuses_more_memory_than_the_host_has(ctx: KernelContext, db: StateDB) -> None:
    stage = ResourceStage(Allocator(db, HostCapacity(cores=(0,), mem=128 << 20)))
    with pytest.raises(ResourceExhausted, match="memory"):
        stage.setup(stage.spec(ctx))


def test_environ_carries_ids_cluster_facts_and_the_allocation(ctx: KernelContext, db: StateDB) -> None:
    done(ctx, ResourceStage(Allocator(db, HostCapacity(cores=(0, 1), mem=1 << 30))))
    env = done(ctx, EnvironStage()).environ
    assert env["USER_VAR"] == "1" and env["BACKENDAI_KERNEL_ID"] == ctx.kernel_id
    assert env["N_CPUS"] == "1" and env["HOME"] == "/home/work" and env["BACKENDAI_CLUSTER_ROLE"] == "main"


def test_scratch_makes_config_and_work_and_teardown_removes_the_whole_dir(ctx: KernelContext) -> None:
    dirs = done(ctx, ScratchStage())
    assert dirs.config.is_dir() and dirs.work.is_dir()
    ScratchStage().teardown(dirs)
    assert not ctx.scratch_dir.exists()


def test_scratch_leftover_finds_a_dir_a_crash_left_unrecorded(ctx: KernelContext) -> None:
    ScratchStage().setup(ScratchStage().spec(ctx))  # never recorded
    ScratchStage().teardown(ScratchStage().leftover(ctx))
    assert not ctx.scratch_dir.exists()


def test_vfolder_mount_refuses_a_host_path_that_is_not_a_directory(ctx: KernelContext, tmp_path: Path) -> None:
    with_config(ctx, mounts=[{"name": "data", "host_path": str(tmp_path / "missing"), "kernel_path": "/data"}])
    with pytest.raises(KernelCreationFailed, match="vfolder 'data'"):
        done(ctx, VFolderMountStage())


def test_every_mount_stage_contributes_to_all_mounts(ctx: KernelContext, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with_config(ctx, mounts=[{"name": "data", "host_path": str(tmp_path / "data"), "kernel_path": "/data",
                              "mount_perm": "ro"}])
    done(ctx, IntrinsicMountStage())
    done(ctx, VFolderMountStage())
    runner = done(ctx, KernelRunnerMountStage(tmp_path / "runner"))
    targets = {m.target: m.read_only for m in all_mounts(ctx)}
    assert targets == {"/home/config": True, "/home/work": False, "/data": True, "/opt/kernel/runner": True,
                       "/opt/kernel/ipc": False}
    assert ctx.ipc_dir.is_dir() and oct(ctx.ipc_dir.stat().st_mode & 0o777) == "0o700"
    KernelRunnerMountStage(tmp_path / "runner").teardown(runner)
    assert not ctx.ipc_dir.exists()


def test_service_ports_publish_image_services_and_preopen_ports_on_pool_ports(
        ctx: KernelContext, db: StateDB) -> None:
    with_config(ctx, preopen_ports=[8080])
    ctx.record("image", ImageInfo(id="sha256:x", labels={"ai.backend.service-ports": "jupyter:http:8888"}), 0)
    pool = PortPool(db, 41000, 41100)
    ports = done(ctx, ServicePortsStage(pool))
    assert [(p.name, p.container_ports) for p in ports.ports] == [("jupyter", [8888]), ("preopen-8080", [8080])]
    assert all(41000 <= p.host_ports[0] <= 41100 for p in ports.ports)
    ServicePortsStage(pool).teardown(ports)
    assert ctx.kernel_id not in pool.kernels()


def test_service_ports_refuse_a_reserved_preopen_port(ctx: KernelContext, db: StateDB) -> None:
    with_config(ctx, preopen_ports=[2000])
    ctx.record("image", ImageInfo(id="sha256:x"), 0)
    with pytest.raises(KernelCreationFailed, match="reserved"):
        done(ctx, ServicePortsStage(PortPool(db, 41000, 41100)))


def test_config_file_writes_environ_and_resource_txt(ctx: KernelContext, db: StateDB) -> None:
    done(ctx, ResourceStage(Allocator(db, HostCapacity(cores=(0,), mem=1 << 30))))
    done(ctx, EnvironStage())
    done(ctx, ScratchStage())
    done(ctx, IntrinsicMountStage())
    files = done(ctx, ConfigFileStage())
    resource_txt = (ctx.config_dir / "resource.txt").read_text()
    assert "CPU_SHARES=0:1" in resource_txt and f"MEM_SHARES=root:{256 << 20}" in resource_txt
    assert f"{ctx.scratch_dir}/work:/home/work:rw" in resource_txt
    assert f"BACKENDAI_KERNEL_ID={ctx.kernel_id}" in (ctx.config_dir / "environ.txt").read_text()
    ConfigFileStage().teardown(files)
    assert list(ctx.config_dir.iterdir()) == []


def test_credentials_are_written_only_for_the_agent_and_only_when_given(
        ctx: KernelContext, secrets: KernelSecrets) -> None:
    done(ctx, ScratchStage())
    assert done(ctx, CredentialsStage(secrets)).paths == []
    creds = {"docker_credentials": {"registry": {"username": "u"}}}
    ctx = secrets.masked(ctx.model_copy(update={"internal_data": creds}))
    assert ctx.internal_data["docker_credentials"] == "********"  # what is saved and sent on
    [path] = done(ctx, CredentialsStage(secrets)).paths
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_container_ssh_and_dotfiles_land_in_the_work_dir(ctx: KernelContext, secrets: KernelSecrets) -> None:
    done(ctx, ScratchStage())
    ctx = secrets.masked(ctx.model_copy(update={"internal_data": {
        "ssh_keypair": {"public_key": "ssh-ed25519 AAA", "private_key": "PRIVATE"},
        "dotfiles": [{"path": ".bashrc", "data": "alias ll='ls -l'", "perm": "600"}]}}))
    assert "PRIVATE" not in ctx.model_dump_json()
    done(ctx, ContainerSSHStage(secrets))
    written = done(ctx, DotfilesStage())
    assert (ctx.work_dir / ".ssh" / "id_rsa").read_text() == "PRIVATE"
    assert (ctx.work_dir / ".bashrc").read_text() == "alias ll='ls -l'\n"
    DotfilesStage().teardown(written)
    assert not (ctx.work_dir / ".bashrc").exists()


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside", "/home/work/../x"])
def test_dotfiles_outside_the_work_dir_are_refused_and_nothing_is_left(ctx: KernelContext, path: str) -> None:
    done(ctx, ScratchStage())
    ctx.internal_data = {"dotfiles": [{"path": ".ok", "data": "x"}, {"path": path, "data": "x"}]}
    with pytest.raises(KernelCreationFailed, match=r"outside|not a plain path"):
        done(ctx, DotfilesStage())
    assert os.listdir(ctx.work_dir) == []


def test_cmdarg_runs_the_runner_with_the_images_python(ctx: KernelContext) -> None:
    ctx.record("image", ImageInfo(id="x", labels={"ai.backend.runtime-path": "/opt/py/bin/python3"}), 0)
    assert done(ctx, CmdArgStage()).command == ["/opt/py/bin/python3", "-I", "/opt/kernel/runner"]


def test_kernel_object_saves_the_context_it_was_given(ctx: KernelContext) -> None:
    saved: list[KernelContext] = []
    done(ctx, KernelObjectStage(saved.append))
    assert [c.kernel_id for c in saved] == [ctx.kernel_id]


class FakeImages:
    def __init__(self, present: bool) -> None:
        self.present = present

    def get(self, name: str) -> Any:
        if not self.present:
            import docker.errors

            raise docker.errors.ImageNotFound("no such image")
        return type("Image", (), {"id": "sha256:abc", "labels": {"k": "v"}})()


def test_image_stage_says_whether_it_pulls_before_pulling(ctx: KernelContext, secrets: KernelSecrets) -> None:
    told: list[bool] = []

    class Docker:
        images = FakeImages(present=True)

    stage = ImagePullStage(Docker(), None, lambda spec, pulling: told.append(pulling), secrets)  # type: ignore[arg-type]
    info = stage.setup(stage.spec(ctx))
    assert told == [False] and info.id == "sha256:abc" and info.labels == {"k": "v"} and not info.pulled
