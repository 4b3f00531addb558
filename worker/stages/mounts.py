"""The mount stages: IntrinsicMount, VFolderMount, AcceleratorMount and KernelRunnerMount.

Each provides `mounts`: its resource is a `Mounts`, and the container stage mounts every `Mounts`
recorded for the kernel (a plugin stage can add mounts the same way).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import VFolderMount
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.fs import ensure_directory_exists
from worker.stages.resource import ResourceStage

RUNNER_TARGET = "/opt/kernel/runner"
IPC_TARGET = "/opt/kernel/ipc"
MOCK_DEVICE_DIR = "/opt/kernel/devices/mock"


class MountSpec(BaseModel):
    source: str
    target: str
    read_only: bool = False
    type: str = "bind"


class Mounts(BaseModel):
    mounts: list[MountSpec] = []


def all_mounts(ctx: KernelContext) -> list[MountSpec]:
    """Every mount the kernel's stages recorded, in the order they finished."""
    return [m for res in ctx.outputs_of(Mounts) for m in res.mounts]


@dataclass(frozen=True)
class IntrinsicMountSpec:
    scratch_dir: Path


class IntrinsicMountStage(Stage[IntrinsicMountSpec, Mounts]):
    """/home/config read-only and /home/work read-write, from the scratch directory."""

    name = "intrinsic_mount"
    resource_type = Mounts
    provides = ("mounts",)

    def spec(self, ctx: KernelContext) -> IntrinsicMountSpec:
        return IntrinsicMountSpec(ctx.scratch_dir)

    def setup(self, spec: IntrinsicMountSpec) -> Mounts:
        return Mounts(mounts=[
            MountSpec(source=str(spec.scratch_dir / "config"), target="/home/config", read_only=True),
            MountSpec(source=str(spec.scratch_dir / "work"), target="/home/work"),
        ])


@dataclass(frozen=True)
class VFolderMountSpec:
    vfolders: list[VFolderMount]


class VFolderMountStage(Stage[VFolderMountSpec, Mounts]):
    """The user's virtual folders: existing host directories bind-mounted at their kernel paths."""

    name = "vfolder_mount"
    resource_type = Mounts
    provides = ("mounts",)

    def spec(self, ctx: KernelContext) -> VFolderMountSpec:
        return VFolderMountSpec(ctx.kernel_config.mounts)

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


class AcceleratorMountStage(Stage[AcceleratorMountSpec, Mounts]):
    """Allocated mock-accelerator devices, each a host file mounted under /opt/kernel/devices/mock."""

    name = "accelerator_mount"
    resource_type = Mounts
    requires = ("allocation",)
    provides = ("mounts",)

    def __init__(self, mock_device_files: dict[str, Path]) -> None:
        self._files = mock_device_files

    def spec(self, ctx: KernelContext) -> AcceleratorMountSpec:
        return AcceleratorMountSpec({d: self._files[d] for d in ctx.output(ResourceStage).mock_devices})

    def setup(self, spec: AcceleratorMountSpec) -> Mounts:
        return Mounts(mounts=[
            MountSpec(source=str(path), target=f"{MOCK_DEVICE_DIR}/{dev}") for dev, path in spec.device_files.items()
        ])


@dataclass(frozen=True)
class KernelRunnerMountSpec:
    runner_dir: Path  # the runner's files on the host
    ipc_dir: Path  # {var}/ipc/{kernel_id}: holds the runner's Unix socket
    uid: int
    gid: int


class RunnerMounts(Mounts):
    ipc_dir: Path | None = None


class KernelRunnerMountStage(Stage[KernelRunnerMountSpec, RunnerMounts]):
    """The runner read-only at /opt/kernel/runner, and its socket directory at /opt/kernel/ipc."""

    name = "kernel_runner_mount"
    resource_type = RunnerMounts
    provides = ("mounts", "runner_ipc")

    def __init__(self, runner_dir: Path) -> None:
        self._runner_dir = runner_dir

    def spec(self, ctx: KernelContext) -> KernelRunnerMountSpec:
        return KernelRunnerMountSpec(self._runner_dir, ctx.ipc_dir, ctx.uid, ctx.gid)

    def setup(self, spec: KernelRunnerMountSpec) -> RunnerMounts:
        ensure_directory_exists(spec.ipc_dir, 0o700, spec.uid, spec.gid)
        return RunnerMounts(ipc_dir=spec.ipc_dir, mounts=[
            MountSpec(source=str(spec.runner_dir), target=RUNNER_TARGET, read_only=True),
            MountSpec(source=str(spec.ipc_dir), target=IPC_TARGET),
        ])

    def teardown(self, resource: RunnerMounts) -> None:
        if resource.ipc_dir is not None:
            shutil.rmtree(resource.ipc_dir, ignore_errors=True)

    def leftover(self, ctx: KernelContext) -> RunnerMounts:
        return RunnerMounts(ipc_dir=ctx.ipc_dir)
