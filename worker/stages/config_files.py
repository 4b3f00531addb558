"""Stages that write files into the scratch directory: Bootstrap, ConfigFile, Credentials, Dotfiles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import DotfileSpec
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.environ import EnvironStage
from worker.stages.fs import remove_file, write_file
from worker.stages.mounts import all_mounts
from worker.stages.resource import ResourceStage

SpecT = TypeVar("SpecT")


class WrittenFiles(BaseModel):
    """Files a stage wrote below `root` (relative paths); teardown removes exactly these, never
    following a link the kernel's user may have put on their way."""

    root: Path | None = None
    files: list[str] = []

    @property
    def paths(self) -> list[Path]:
        return [self.root / f for f in self.files] if self.root is not None else []


class FileWriter(Stage[SpecT, WrittenFiles]):
    """A stage whose resource is the files it wrote."""

    resource_type = WrittenFiles

    def teardown(self, resource: WrittenFiles) -> None:
        if resource.root is None or not resource.root.is_dir():
            return  # the scratch is gone, and what it held with it
        for f in reversed(resource.files):
            remove_file(resource.root, f)


@dataclass(frozen=True)
class BootstrapSpec:
    work_dir: Path
    script: str | None
    uid: int
    gid: int


class BootstrapStage(FileWriter[BootstrapSpec]):
    """bootstrap.sh in /home/work, run by the runner before it answers the handshake."""

    name = "bootstrap"
    requires = ("scratch",)
    provides = ("bootstrap_script",)

    def spec(self, ctx: KernelContext) -> BootstrapSpec:
        return BootstrapSpec(ctx.work_dir, ctx.kernel_config.bootstrap_script, ctx.uid, ctx.gid)

    def setup(self, spec: BootstrapSpec) -> WrittenFiles:
        if not spec.script:
            return WrittenFiles()
        return WrittenFiles(root=spec.work_dir,
                            files=[write_file(spec.work_dir, "bootstrap.sh", spec.script, 0o755, spec.uid, spec.gid)])


@dataclass(frozen=True)
class ConfigFileSpec:
    config_dir: Path
    environ: dict[str, str]
    resource_lines: dict[str, str]


def format_resource_txt(lines: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def resource_lines(ctx: KernelContext) -> dict[str, str]:
    """resource.txt's lines: the allocation and the mounts, as Backend.AI's kernels read them."""
    alloc = ctx.output(ResourceStage)
    lines = {
        "SLOTS": json.dumps(alloc.resource_spec()["slots"], sort_keys=True),
        "CPU_SHARES": ",".join(f"{c}:{alloc.cpu_amount / len(alloc.cores):g}" for c in alloc.cores),
        "MEM_SHARES": f"root:{alloc.mem}",
        "MOUNTS": ",".join(f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in all_mounts(ctx)),
    }
    if alloc.mock_devices:
        lines["MOCK.DEVICE_SHARES"] = ",".join(f"{d}:1" for d in alloc.mock_devices)
    if alloc.cuda_devices:
        lines["CUDA.DEVICE_SHARES"] = ",".join(f"{d}:1" for d in alloc.cuda_devices)
    return lines


class ConfigFileStage(FileWriter[ConfigFileSpec]):
    """environ.txt and resource.txt (and their *_base.txt copies) in /home/config."""

    name = "config_file"
    requires = ("scratch", "environ", "allocation", "mounts")
    provides = ("config_files",)

    def spec(self, ctx: KernelContext) -> ConfigFileSpec:
        return ConfigFileSpec(ctx.config_dir, ctx.output(EnvironStage).environ, resource_lines(ctx))

    def setup(self, spec: ConfigFileSpec) -> WrittenFiles:
        environ = "".join(f"{k}={v}\n" for k, v in sorted(spec.environ.items()))
        resource = format_resource_txt(spec.resource_lines)
        written = WrittenFiles(root=spec.config_dir)
        for name, text in (("environ.txt", environ), ("environ_base.txt", environ),
                           ("resource.txt", resource), ("resource_base.txt", resource)):
            written.files.append(write_file(spec.config_dir, name, text, 0o644))
        return written


@dataclass(frozen=True)
class CredentialsSpec:
    config_dir: Path
    docker_credentials: dict[str, Any] | None


class CredentialsStage(FileWriter[CredentialsSpec]):
    name = "credentials"
    requires = ("scratch",)
    provides = ("config_files",)

    def __init__(self, secrets: KernelSecrets) -> None:
        self._secrets = secrets

    def spec(self, ctx: KernelContext) -> CredentialsSpec:
        return CredentialsSpec(ctx.config_dir, self._secrets.reveal(ctx).internal_data.get("docker_credentials"))

    def setup(self, spec: CredentialsSpec) -> WrittenFiles:
        if not spec.docker_credentials:
            return WrittenFiles()
        path = write_file(spec.config_dir, "docker-creds.json", json.dumps(spec.docker_credentials), 0o600)
        return WrittenFiles(root=spec.config_dir, files=[path])


@dataclass(frozen=True)
class DotfilesSpec:
    work_dir: Path
    dotfiles: list[DotfileSpec]
    uid: int
    gid: int


def dotfile_target(path: str) -> PurePosixPath:
    """Where a dotfile goes below the work dir: relative paths and /home/work/..., nothing else."""
    p = PurePosixPath(path)
    if p.is_absolute():
        try:
            p = p.relative_to("/home/work")
        except ValueError:
            raise KernelCreationFailed(f"dotfile {path!r} is outside /home/work") from None
    if not p.parts or ".." in p.parts:
        raise KernelCreationFailed(f"dotfile path {path!r} is not a plain path under /home/work")
    return p


class DotfilesStage(FileWriter[DotfilesSpec]):
    """The user's dotfiles from internal_data, confined to /home/work (after the SSH keys and the
    bootstrap script, which a dotfile may replace)."""

    name = "dotfiles"
    requires = ("scratch", "ssh_keys", "bootstrap_script")
    provides = ("dotfiles",)

    def spec(self, ctx: KernelContext) -> DotfilesSpec:
        dotfiles = [DotfileSpec.model_validate(d) for d in ctx.internal_data.get("dotfiles", [])]
        return DotfilesSpec(ctx.work_dir, dotfiles, ctx.uid, ctx.gid)

    def setup(self, spec: DotfilesSpec) -> WrittenFiles:
        written = WrittenFiles(root=spec.work_dir)
        try:
            for d in spec.dotfiles:
                data = d.data if d.data.endswith("\n") else d.data + "\n"
                written.files.append(write_file(spec.work_dir, dotfile_target(d.path), data, int(d.perm, 8),
                                                spec.uid, spec.gid))
        except BaseException:
            self.teardown(written)
            raise
        return written
