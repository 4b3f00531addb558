"""accept_file: write an uploaded file into a kernel's work directory, owned by the kernel's user.

The data goes to a fresh temp file (O_CREAT|O_EXCL|O_NOFOLLOW) in the target's directory and is
renamed over the target, so an existing name is replaced, never written through (a link planted
there is not followed, another hard link to the old file keeps its content), and the container
sees the whole file at once. On any failure the temp file and the directories made are removed.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from contract.errors import ArchiveTooLarge, FileOperationFailed, InvalidInput
from worker.files.confined import WorkDir
from worker.files.paths import WorkPath, human_size, link_refused, resolve

log = logging.getLogger(__name__)
VERB = "upload"
FILE_MODE = 0o644
DIR_MODE = 0o755
TEMP_PREFIX = ".upload-"


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


@dataclass
class MadeDirs:
    """Directories this upload created, as (parent fd, name), to remove again if it fails."""

    made: list[tuple[int, str]] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def undo(self) -> None:
        for parent_fd, name in reversed(self.made):
            try:
                os.rmdir(name, dir_fd=parent_fd)
            except OSError as e:  # the kernel's user may have put something in it meanwhile
                log.warning("could not remove directory %s made by a failed upload: %s", name, e)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)


def make_parents(wd: WorkDir, wp: WorkPath, owner: Owner, made: MadeDirs) -> int:
    """The parent directory of `wp` (its fd in `made.fds`), creating missing ones owned by `owner`."""
    fd = wd.fd
    for i, name in enumerate(wp.parts[:-1]):
        where = wp.upto(i + 1)
        try:
            os.mkdir(name, DIR_MODE, dir_fd=fd)
            made.made.append((fd, name))
            created = True
        except FileExistsError:
            created = False
        except OSError as e:
            raise wd.os_error(e, where) from None
        child = wd.enter(fd, name, where)
        made.fds.append(child)
        if created:
            try:
                os.fchown(child, owner.uid, owner.gid)
                os.fchmod(child, DIR_MODE)
            except OSError as e:
                raise wd.os_error(e, where) from None
        fd = child
    return fd


def write_temp(dir_fd: int, data: bytes, owner: Owner) -> str:
    """A new temp file in `dir_fd` holding `data`, owned by `owner`; its name."""
    name = TEMP_PREFIX + secrets.token_hex(8)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE,
                 dir_fd=dir_fd)
    try:
        os.fchown(fd, owner.uid, owner.gid)
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        os.unlink(name, dir_fd=dir_fd)
        raise
    os.close(fd)
    return name


def replace_target(dir_fd: int, temp: str, wp: WorkPath) -> None:
    """Rename `temp` over the target, refusing a link or a directory standing there."""
    try:
        st = os.stat(wp.parts[-1], dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISLNK(st.st_mode):
            raise link_refused(VERB, wp.container_path)
        if stat.S_ISDIR(st.st_mode):
            raise FileOperationFailed(f"Could not {VERB} {wp.container_path}: it is a directory")
    # Should a link or directory appear after the check, rename replaces the link itself, or fails.
    os.rename(temp, wp.parts[-1], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def accept_file(work_dir: Path, owner: Owner, filename: str, data: bytes, max_size: int) -> None:
    """Write `data` at container path `filename` below /home/work, creating parent directories."""
    wp = resolve(filename, VERB)
    if not wp.parts:
        raise InvalidInput(f"{filename!r} is the work directory itself, not a file name")
    if len(data) > max_size:
        raise ArchiveTooLarge(f"Too large file exceeding {human_size(max_size)}: "
                              f"{len(data)} bytes for {wp.container_path}")
    with WorkDir(work_dir, VERB) as wd:
        made = MadeDirs()
        try:
            parent = make_parents(wd, wp, owner, made)
            with wd.reporting(wp.container_path):
                temp = write_temp(parent, data, owner)
                try:
                    replace_target(parent, temp, wp)
                except BaseException:
                    os.unlink(temp, dir_fd=parent)
                    raise
        except BaseException:
            made.undo()
            raise
        finally:
            made.close()
