"""The mount stages: IntrinsicMount, VFolderMount, AcceleratorMount and KernelRunnerMount."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import VFolderMount
from worker.stages.base import Provisioner
from worker.stages.context import MountSpec
from worker.stages.fs import ensure_directory_exists

RUNNER_TARGET = "/opt/kernel/runner"
IPC_TARGET = "/opt/kernel/ipc"
MOCK_DEVICE_DIR = "/opt/kernel/devices/mock"


class Mounts(BaseModel):
    mounts: list[MountSpec] = []


@dataclass(frozen=True)
class IntrinsicMountSpec:
    scratch_dir: Path


class IntrinsicMountProvisioner(Provisioner[IntrinsicMountSpec, Mounts]):
    """/home/config read-only and /home/work read-write, from the scratch directory."""

    name = "intrinsic_mount"
    resource_type = Mounts

    def setup(self, spec: IntrinsicMountSpec) -> Mounts:
        return Mounts(mounts=[
            MountSpec(source=str(spec.scratch_dir / "config"), target="/home/config", read_only=True),
            MountSpec(source=str(spec.scratch_dir / "work"), target="/home/work"),
        ])


@dataclass(frozen=True)
class VFolderMountSpec:
    vfolders: list[VFolderMount]


class VFolderMountProvisioner(Provisioner[VFolderMountSpec, Mounts]):
    """The user's virtual folders: existing host directories bind-mounted at their kernel paths."""

    name = "vfolder_mount"
    resource_type = Mounts

    def setup(self, spec: VFolderMountSpec) -> Mounts:
        mounts = []
        for v in spec.vfolders:
            if not Path(v.host_path).is_dir():
                raise KernelCreationFailed(f"vfolder {v.name!r}: host path {v.host_path} is not a directory")
            mounts.append(MountSpec(source=v.host_path, target=v.kernel_path, read_only=v.mount_perm == "ro"))
        return Mounts(mounts=mounts)


@dataclass(frozen=True)
class AcceleratorMountSpec:
    device_files: dict[str, Path]  # device id -> the host file that backs it


class AcceleratorMountProvisioner(Provisioner[AcceleratorMountSpec, Mounts]):
    """Allocated mock-accelerator devices, each a host file mounted under /opt/kernel/devices/mock."""

    name = "accelerator_mount"
    resource_type = Mounts

    def setup(self, spec: AcceleratorMountSpec) -> Mounts:
        return Mounts(mounts=[
            MountSpec(source=str(path), target=f"{MOCK_DEVICE_DIR}/{dev}") for dev, path in spec.device_files.items()
        ])


@dataclass(frozen=True)
class KernelRunnerMountSpec:
    runner_dir: Path  # this repo's runner/ package
    ipc_dir: Path  # {var}/ipc/{kernel_id}: holds the runner's Unix socket
    uid: int
    gid: int


class RunnerMounts(Mounts):
    ipc_dir: Path | None = None


class KernelRunnerMountProvisioner(Provisioner[KernelRunnerMountSpec, RunnerMounts]):
    """The runner read-only at /opt/kernel/runner, and its socket directory at /opt/kernel/ipc."""

    name = "kernel_runner_mount"
    resource_type = RunnerMounts

    def setup(self, spec: KernelRunnerMountSpec) -> RunnerMounts:
        ensure_directory_exists(spec.ipc_dir, 0o700, spec.uid, spec.gid)
        return RunnerMounts(ipc_dir=spec.ipc_dir, mounts=[
            MountSpec(source=str(spec.runner_dir), target=RUNNER_TARGET, read_only=True),
            MountSpec(source=str(spec.ipc_dir), target=IPC_TARGET),
        ])

    def teardown(self, resource: RunnerMounts) -> None:
        if resource.ipc_dir is not None:
            shutil.rmtree(resource.ipc_dir, ignore_errors=True)
