"""SSH (the cluster keypair for kernels of one session) and ContainerSSH (the user's keys)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from contract.kernels import SSHKeypair
from worker.stages.base import Provisioner
from worker.stages.config_files import WrittenFiles, _FileWriter
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


class ClusterSSHProvisioner(Provisioner[ClusterSSHSpec, ClusterSSHFiles]):
    """config/ssh/id_cluster(.pub) and port-mapping.json, for ssh between a session's kernels."""

    name = "ssh"
    resource_type = ClusterSSHFiles

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


class ContainerSSHProvisioner(_FileWriter):
    """/home/work/.ssh/authorized_keys and id_rsa from internal_data.ssh_keypair."""

    name = "container_ssh"

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
