"""The mount at a kernel's scratch dir, made before config/ and work/ are made inside it:

- `dir`: the dir bind-mounted onto itself with nosuid,nodev (no size limit);
- `hostfile`: a sparse file of the kernel's scratch size next to the dir ({kernel_id}.img), made
  ext4 and loop-mounted there nosuid,nodev, so a full scratch fails only that kernel's writes.

Docker's bind mounts of config/ and work/ inherit nosuid,nodev from this mount (runc's read-only
remount of /home/config clears them inside the kernel; that dir is read-only and only the agent
writes it). `remove_scratch` undoes either kind, and a crash's half of either, in any state.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import subprocess
from pathlib import Path

from contract.errors import KernelCreationFailed

log = logging.getLogger(__name__)

MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 0x2, 0x4, 0x20, 0x1000
MNT_DETACH, UMOUNT_NOFOLLOW = 0x2, 0x8
HOSTFILE_MOUNT_OPTIONS = "loop,nosuid,nodev,noatime,noinit_itable"  # noinit_itable: a sparse file reads as zeros
# fast: no journal (a scratch does not outlive a crash of its host), no discard, inode tables left to read as zeros
MKFS = ("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


def image_path(scratch_dir: Path) -> Path:
    """The hostfile of the kernel whose scratch dir is `scratch_dir`."""
    return scratch_dir.with_name(f"{scratch_dir.name}.img")


def _mount(source: Path | None, target: Path, flags: int) -> None:
    if _libc.mount(None if source is None else bytes(source), bytes(target), None, flags, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(target))


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit status {done.returncode}"
        raise KernelCreationFailed(f"{cmd[0]} failed for the kernel's scratch: {why}")


def _mounted_here(path: Path) -> bool:
    return os.stat(path).st_dev != os.stat(path.parent).st_dev


def mount_dir_scratch(root: Path) -> None:
    """Bind `root` onto itself nosuid,nodev (nothing to do when its mount already has both flags)."""
    flags = os.statvfs(root).f_flag
    if flags & os.ST_NOSUID and flags & os.ST_NODEV:
        return
    try:
        _mount(root, root, MS_BIND)
        _mount(None, root, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    except OSError as e:
        if e.errno != errno.EPERM:
            raise
        log.warning("scratch %s keeps its filesystem's mount flags: only root can mount nosuid,nodev", root)


def mount_hostfile_scratch(root: Path, size: int) -> None:
    """A sparse ext4 file of `size` bytes loop-mounted at `root` nosuid,nodev (kept if already there)."""
    if _mounted_here(root):
        return
    image = image_path(root)
    image.unlink(missing_ok=True)  # a crash's unmounted leftover
    fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    _run(*MKFS, str(image))
    _run("mount", "-t", "ext4", "-o", HOSTFILE_MOUNT_OPTIONS, str(image), str(root))


def unmount_all(path: Path) -> None:
    """Unmount whatever is mounted at `path` (lazily when busy); nothing when nothing is."""
    if os.geteuid() != 0:
        return  # only root mounts: nothing can be mounted there
    for _ in range(8):  # a setup run twice may have stacked a mount
        if _libc.umount2(bytes(path), UMOUNT_NOFOLLOW) == 0:
            continue
        e = ctypes.get_errno()
        if e == errno.EBUSY and _libc.umount2(bytes(path), UMOUNT_NOFOLLOW | MNT_DETACH) == 0:
            log.warning("scratch %s was busy: detached lazily", path)
            continue
        if e not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not a mount point
            raise OSError(e, os.strerror(e), str(path))
        return


def remove_scratch(root: Path) -> None:
    """Unmount the kernel's scratch, remove its dir and its hostfile (each may be missing)."""
    try:
        unmount_all(root)
    except OSError as e:
        log.error("scratch %s could not be unmounted: %s", root, e)
    shutil.rmtree(root, ignore_errors=True)
    image_path(root).unlink(missing_ok=True)
