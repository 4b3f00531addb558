"""Stages that write files into the scratch directory: Bootstrap, ConfigFile, Credentials, Dotfiles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import DotfileSpec
from worker.stages.base import Provisioner
from worker.stages.fs import chown_paths_if_root, ensure_directory_exists, write_file_with_permissions


class WrittenFiles(BaseModel):
    """Files a stage wrote; teardown removes exactly these."""

    paths: list[Path] = []


class _FileWriter(Provisioner[Any, WrittenFiles]):
    resource_type = WrittenFiles

    def teardown(self, resource: WrittenFiles) -> None:
        for p in reversed(resource.paths):
            p.unlink(missing_ok=True)


@dataclass(frozen=True)
class BootstrapSpec:
    work_dir: Path
    script: str | None
    uid: int
    gid: int


class BootstrapProvisioner(_FileWriter):
    """bootstrap.sh in /home/work, run by the runner before it answers the handshake."""

    name = "bootstrap"

    def setup(self, spec: BootstrapSpec) -> WrittenFiles:
        if not spec.script:
            return WrittenFiles()
        path = write_file_with_permissions(spec.work_dir / "bootstrap.sh", spec.script, 0o755, spec.uid, spec.gid)
        return WrittenFiles(paths=[path])


@dataclass(frozen=True)
class ConfigFileSpec:
    config_dir: Path
    environ: dict[str, str]
    resource_lines: dict[str, str]


def format_resource_txt(lines: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in lines.items())


class ConfigFileProvisioner(_FileWriter):
    """environ.txt and resource.txt (and their *_base.txt copies) in /home/config."""

    name = "config_file"

    def setup(self, spec: ConfigFileSpec) -> WrittenFiles:
        environ = "".join(f"{k}={v}\n" for k, v in sorted(spec.environ.items()))
        resource = format_resource_txt(spec.resource_lines)
        written = []
        for name, text in (("environ.txt", environ), ("environ_base.txt", environ),
                           ("resource.txt", resource), ("resource_base.txt", resource)):
            written.append(write_file_with_permissions(spec.config_dir / name, text, 0o644))
        return WrittenFiles(paths=written)


@dataclass(frozen=True)
class CredentialsSpec:
    config_dir: Path
    docker_credentials: dict[str, Any] | None


class CredentialsProvisioner(_FileWriter):
    name = "credentials"

    def setup(self, spec: CredentialsSpec) -> WrittenFiles:
        if not spec.docker_credentials:
            return WrittenFiles()
        path = write_file_with_permissions(spec.config_dir / "docker-creds.json",
                                           json.dumps(spec.docker_credentials), 0o600)
        return WrittenFiles(paths=[path])


@dataclass(frozen=True)
class DotfilesSpec:
    work_dir: Path
    dotfiles: list[DotfileSpec]
    uid: int
    gid: int


def dotfile_target(work_dir: Path, path: str) -> Path:
    """Where a dotfile goes: relative paths and /home/work/... under the work dir, nothing else."""
    p = PurePosixPath(path)
    if p.is_absolute():
        try:
            p = p.relative_to("/home/work")
        except ValueError:
            raise KernelCreationFailed(f"dotfile {path!r} is outside /home/work") from None
    if not p.parts or ".." in p.parts:
        raise KernelCreationFailed(f"dotfile path {path!r} is not a plain path under /home/work")
    return work_dir.joinpath(*p.parts)


class DotfilesProvisioner(_FileWriter):
    """The user's dotfiles from internal_data, confined to /home/work."""

    name = "dotfiles"

    def setup(self, spec: DotfilesSpec) -> WrittenFiles:
        written: list[Path] = []
        try:
            for d in spec.dotfiles:
                target = dotfile_target(spec.work_dir, d.path)
                parent = target.parent
                missing = [q for q in [parent, *parent.parents] if not q.exists() and spec.work_dir in q.parents]
                ensure_directory_exists(parent, 0o755)
                chown_paths_if_root(missing, spec.uid, spec.gid)
                data = d.data if d.data.endswith("\n") else d.data + "\n"
                written.append(write_file_with_permissions(target, data, int(d.perm, 8), spec.uid, spec.gid))
        except BaseException:
            self.teardown(WrittenFiles(paths=written))
            raise
        return WrittenFiles(paths=written)
