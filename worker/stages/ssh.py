"""SSH (the cluster keypair for kernels of one session) and ContainerSSH (the user's keys)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from contract.kernels import SSHKeypair
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.config_files import FileWriter, WrittenFiles
from worker.stages.fs import ensure_directory_exists, write_file_with_permissions


@dataclass(frozen=True)
class ClusterSSHSpec:
    config_dir: Path
    keypair: SSHKeypair | None
    port_mapping: dict[str, tuple[str, int]] | None
    uid: int
    gid: int


class ClusterSSHFiles(BaseModel):
    ssh_dir: Path | None = None


class ClusterSSHStage(Stage[ClusterSSHSpec, ClusterSSHFiles]):
    """config/ssh/id_cluster(.pub) and port-mapping.json, for ssh between a session's kernels."""

    name = "ssh"
    resource_type = ClusterSSHFiles
    requires = ("scratch",)
    provides = ("config_files",)

    def spec(self, ctx: KernelContext) -> ClusterSSHSpec:
        info = ctx.cluster_info
        return ClusterSSHSpec(ctx.config_dir, info.ssh_keypair, info.cluster_ssh_port_mapping, ctx.uid, ctx.gid)

    def setup(self, spec: ClusterSSHSpec) -> ClusterSSHFiles:
        if spec.keypair is None:
            return ClusterSSHFiles()
        ssh_dir = ensure_directory_exists(spec.config_dir / "ssh", 0o700, spec.uid, spec.gid)
        write_file_with_permissions(ssh_dir / "id_cluster", spec.keypair.private_key, 0o600, spec.uid, spec.gid)
        write_file_with_permissions(ssh_dir / "id_cluster.pub", spec.keypair.public_key, 0o644, spec.uid, spec.gid)
        if spec.port_mapping:
            write_file_with_permissions(ssh_dir / "port-mapping.json", json.dumps(spec.port_mapping), 0o644)
        return ClusterSSHFiles(ssh_dir=ssh_dir)

    def teardown(self, resource: ClusterSSHFiles) -> None:
        if resource.ssh_dir is not None:
            shutil.rmtree(resource.ssh_dir, ignore_errors=True)


@dataclass(frozen=True)
class ContainerSSHSpec:
    work_dir: Path
    keypair: SSHKeypair | None
    uid: int
    gid: int


class ContainerSSHStage(FileWriter[ContainerSSHSpec]):
    """/home/work/.ssh/authorized_keys and id_rsa from internal_data.ssh_keypair."""

    name = "container_ssh"
    requires = ("scratch",)
    provides = ("ssh_keys",)

    def spec(self, ctx: KernelContext) -> ContainerSSHSpec:
        raw = ctx.internal_data.get("ssh_keypair")
        return ContainerSSHSpec(ctx.work_dir, SSHKeypair.model_validate(raw) if raw else None, ctx.uid, ctx.gid)

    def setup(self, spec: ContainerSSHSpec) -> WrittenFiles:
        if spec.keypair is None:
            return WrittenFiles()
        ssh_dir = ensure_directory_exists(spec.work_dir / ".ssh", 0o700, spec.uid, spec.gid)
        files = [
            write_file_with_permissions(ssh_dir / "authorized_keys", spec.keypair.public_key, 0o600,
                                        spec.uid, spec.gid),
            write_file_with_permissions(ssh_dir / "id_rsa", spec.keypair.private_key, 0o600, spec.uid, spec.gid),
        ]
        return WrittenFiles(paths=files)
