"""SSH (the cluster keypair for kernels of one session) and ContainerSSH (the user's keys)."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from contract.kernels import SSHKeypair
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.config_files import FileWriter, WrittenFiles
from worker.stages.fs import dir_at, make_dir, write_file

SSH_DIR = "ssh"


@dataclass(frozen=True)
class ClusterSSHSpec:
    config_dir: Path
    keypair: SSHKeypair | None
    port_mapping: dict[str, tuple[str, int]] | None
    uid: int
    gid: int


class ClusterSSHFiles(BaseModel):
    config_dir: Path | None = None  # config/ssh below it is this stage's


class ClusterSSHStage(Stage[ClusterSSHSpec, ClusterSSHFiles]):
    """config/ssh/id_cluster(.pub) and port-mapping.json, for ssh between a session's kernels."""

    name = "ssh"
    resource_type = ClusterSSHFiles
    requires = ("scratch",)
    provides = ("config_files",)

    def __init__(self, secrets: KernelSecrets) -> None:
        self._secrets = secrets

    def spec(self, ctx: KernelContext) -> ClusterSSHSpec:
        info = self._secrets.reveal(ctx).cluster_info
        return ClusterSSHSpec(ctx.config_dir, info.ssh_keypair, info.cluster_ssh_port_mapping, ctx.uid, ctx.gid)

    def setup(self, spec: ClusterSSHSpec) -> ClusterSSHFiles:
        if spec.keypair is None:
            return ClusterSSHFiles()
        root = spec.config_dir
        make_dir(root, SSH_DIR, 0o700, spec.uid, spec.gid)
        write_file(root, f"{SSH_DIR}/id_cluster", spec.keypair.private_key, 0o600, spec.uid, spec.gid)
        write_file(root, f"{SSH_DIR}/id_cluster.pub", spec.keypair.public_key, 0o644, spec.uid, spec.gid)
        if spec.port_mapping:
            write_file(root, f"{SSH_DIR}/port-mapping.json", json.dumps(spec.port_mapping), 0o644)
        return ClusterSSHFiles(config_dir=root)

    def teardown(self, resource: ClusterSSHFiles) -> None:
        if resource.config_dir is None or not resource.config_dir.is_dir():
            return
        with contextlib.suppress(FileNotFoundError), dir_at(resource.config_dir, PurePosixPath(".")) as fd:
            shutil.rmtree(SSH_DIR, dir_fd=fd)


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

    def __init__(self, secrets: KernelSecrets) -> None:
        self._secrets = secrets

    def spec(self, ctx: KernelContext) -> ContainerSSHSpec:
        raw = self._secrets.reveal(ctx).internal_data.get("ssh_keypair")
        return ContainerSSHSpec(ctx.work_dir, SSHKeypair.model_validate(raw) if raw else None, ctx.uid, ctx.gid)

    def setup(self, spec: ContainerSSHSpec) -> WrittenFiles:
        if spec.keypair is None:
            return WrittenFiles()
        make_dir(spec.work_dir, ".ssh", 0o700, spec.uid, spec.gid)
        return WrittenFiles(root=spec.work_dir, files=[
            write_file(spec.work_dir, ".ssh/authorized_keys", spec.keypair.public_key, 0o600, spec.uid, spec.gid),
            write_file(spec.work_dir, ".ssh/id_rsa", spec.keypair.private_key, 0o600, spec.uid, spec.gid),
        ])
