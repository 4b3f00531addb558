"""The scratch stage's mounts, real ones (the tests run as root): `dir` bound onto itself nosuid,nodev,
`hostfile` a size-limited ext4 loop mount; teardown and a crash's leftover leave nothing mounted."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import pytest

from worker.pipeline.context import KernelContext
from worker.scratch_mounts import image_path
from worker.stages.scratch import ScratchStage

SIZE = 16 << 20


def mounts_at(path: Path) -> int:
    with open("/proc/self/mountinfo") as f:
        return sum(line.split()[4] == str(path) for line in f)


def backed_by(image: Path) -> bool:
    """A loop device is attached to `image` (or to it deleted)."""
    out = subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"], capture_output=True,
                         text=True, check=True).stdout
    return str(image) in out


def detached(image: Path, timeout: float = 5.0) -> bool:
    """The loop device of `image` is gone (the kernel detaches it once its last user went)."""
    deadline = time.monotonic() + timeout
    while backed_by(image):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def nosuid_nodev(path: Path) -> bool:
    flags = os.statvfs(path).f_flag
    return bool(flags & os.ST_NOSUID and flags & os.ST_NODEV)


def assert_gone(ctx: KernelContext) -> None:
    assert mounts_at(ctx.scratch_dir) == 0 and not ctx.scratch_dir.exists()
    assert not image_path(ctx.scratch_dir).exists()


@pytest.mark.parametrize("kind", ["dir", "hostfile"])
def test_scratch_is_mounted_nosuid_nodev_and_teardown_unmounts_and_removes_it(ctx: KernelContext, kind: str) -> None:
    stage = ScratchStage(kind, SIZE)
    dirs = stage.setup(stage.spec(ctx))
    assert dirs.work.is_dir() and dirs.config.is_dir()
    assert mounts_at(ctx.scratch_dir) == 1 and nosuid_nodev(dirs.work) and nosuid_nodev(dirs.config)
    stage.setup(stage.spec(ctx))  # run twice (a redelivered step): nothing stacked
    assert mounts_at(ctx.scratch_dir) == 1
    stage.teardown(dirs)
    assert_gone(ctx)


def test_a_hostfile_scratch_fills_up_at_its_size_and_takes_no_more_of_the_host(ctx: KernelContext) -> None:
    stage = ScratchStage("hostfile", SIZE)
    dirs = stage.setup(stage.spec(ctx))
    image = image_path(ctx.scratch_dir)
    assert image.stat().st_size == SIZE and oct(image.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(OSError) as full, (dirs.work / "fill").open("wb") as f:
        for _ in range(2 * SIZE >> 20):
            f.write(b"x" * (1 << 20))
            f.flush()
            os.fsync(f.fileno())
    assert full.value.errno == errno.ENOSPC
    assert image.stat().st_blocks * 512 <= SIZE and backed_by(image)
    stage.teardown(dirs)
    assert_gone(ctx)
    assert detached(image)


def test_a_hostfile_scratch_a_crash_left_unrecorded_is_found_and_removed(ctx: KernelContext) -> None:
    stage = ScratchStage("hostfile", SIZE)
    stage.setup(stage.spec(ctx))  # never recorded
    leftover = ScratchStage("dir").leftover(ctx)  # the setting may have changed since: the leftover is found anyway
    ScratchStage("dir").teardown(leftover)
    assert_gone(ctx)
    assert detached(image_path(ctx.scratch_dir))


def test_a_busy_scratch_is_detached_lazily_and_still_removed(ctx: KernelContext) -> None:
    stage = ScratchStage("hostfile", SIZE)
    dirs = stage.setup(stage.spec(ctx))
    image = image_path(ctx.scratch_dir)
    with (dirs.work / "open").open("w") as busy:
        stage.teardown(dirs)
        assert_gone(ctx)
        busy.write("still writable: the filesystem lives until its last user goes")
    assert detached(image)
