"""download_file and download_single: tar archives (as docker's get_archive names them) built on the host.

`BoundedTar` refuses an entry before reading it when the archive, end blocks included, would pass
the limit, so memory stays under the limit whatever sits in the work directory. Inside a directory,
symlinks are archived as links and FIFOs/devices as header-only entries: none is ever followed or
opened; sockets are left out, as docker does.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

from contract.errors import ArchiveTooLarge, NotASingleFile
from worker.files.confined import WorkDir, has_entries, open_listable, read_at_most, reopen_regular
from worker.files.paths import MAX_DEPTH, WorkPath, human_size, link_refused, resolve

VERB = "download"
BLOCK = tarfile.BLOCKSIZE
END_OF_ARCHIVE = 2 * BLOCK


def padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def too_large(limit: int) -> ArchiveTooLarge:
    return ArchiveTooLarge(f"Too large archive file exceeding {human_size(limit)}")


def header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_info(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    info.size = 0
    return info


def single_file_tar_size(name: str, st: os.stat_result) -> int:
    """Bytes of a tar holding only this regular file: what the download limit is checked against."""
    info = tar_info(name, st)
    info.size = st.st_size
    return len(header(info)) + padded(st.st_size) + END_OF_ARCHIVE


class BoundedTar:
    """A tar archive in memory that refuses to grow past `limit` bytes (end-of-archive included)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buf = bytearray()

    def reserve(self, head: int, size: int) -> None:
        if len(self.buf) + head + padded(size) + END_OF_ARCHIVE > self.limit:
            raise too_large(self.limit)

    def add(self, info: tarfile.TarInfo) -> None:
        """An entry without data (directory, link, FIFO, device)."""
        head = header(info)
        self.reserve(len(head), 0)
        self.buf += head

    def add_file(self, info: tarfile.TarInfo, fd: int, size: int) -> None:
        """A regular file of `size` bytes read from `fd`; the limit is checked before reading."""
        info.size = size
        self.reserve(len(header(info)), size)
        data = read_at_most(fd, size)
        info.size = len(data)  # the file may have shrunk meanwhile
        self.buf += header(info)
        self.buf += data
        self.buf += bytes(padded(len(data)) - len(data))

    def finish(self) -> bytes:
        self.buf += bytes(END_OF_ARCHIVE)
        return bytes(self.buf)


class TreeArchiver:
    """Adds a directory tree below an open directory fd to a BoundedTar without following anything."""

    def __init__(self, wd: WorkDir, tar: BoundedTar) -> None:
        self.wd = wd
        self.tar = tar
        self.hardlinks: dict[tuple[int, int], str] = {}

    def add_regular(self, path_fd: int, st: os.stat_result, arcname: str) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.hardlinks:
            info = tar_info(arcname, st)
            info.type, info.linkname = tarfile.LNKTYPE, self.hardlinks[key]
            self.tar.add(info)
            return
        fd = reopen_regular(path_fd)
        try:
            self.tar.add_file(tar_info(arcname, st), fd, st.st_size)
        finally:
            os.close(fd)
        if st.st_nlink > 1:
            self.hardlinks[key] = arcname

    def add_dir(self, dir_fd: int, st: os.stat_result, arcname: str, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ArchiveTooLarge(f"{where} nests directories deeper than {MAX_DEPTH} levels")
        info = tar_info(arcname + "/", st)
        info.type = tarfile.DIRTYPE
        self.tar.add(info)
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                self.add_entry(dir_fd, entry.name, f"{arcname}/{entry.name}", f"{where}/{entry.name}", depth)

    def add_entry(self, dir_fd: int, name: str, arcname: str, where: str, depth: int) -> None:
        """One directory entry; one that vanished meanwhile is left out."""
        try:
            with self.wd.lookup(dir_fd, name, where) as (path_fd, st):
                self.add_looked_up(path_fd, st, arcname, where, depth)
        except FileNotFoundError:
            return

    def add_looked_up(self, path_fd: int, st: os.stat_result, arcname: str, where: str, depth: int) -> None:
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self.add_regular(path_fd, st, arcname)
        elif stat.S_ISDIR(mode):
            fd = open_listable(path_fd)
            try:
                self.add_dir(fd, st, arcname, where, depth + 1)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(mode):
            info = tar_info(arcname, st)
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink("", dir_fd=path_fd)
            self.tar.add(info)
        elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info = tar_info(arcname, st)
            info.type = tarfile.FIFOTYPE if stat.S_ISFIFO(mode) else (
                tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tar.add(info)


def download_file(work_dir: Path, filepath: str, limit: int) -> bytes:
    """A tar of the file or directory at container path `filepath` (at most `limit` bytes)."""
    wp = resolve(filepath, VERB)
    with WorkDir(work_dir, VERB) as wd:
        tar = BoundedTar(limit)
        archiver = TreeArchiver(wd, tar)
        with wd.reporting(wp.container_path):
            if not wp.parts:
                archiver.add_dir(wd.fd, os.fstat(wd.fd), wp.name, wp.container_path, 0)
            else:
                with wd.parent(wp) as parent, wd.lookup(parent, wp.parts[-1], wp.container_path) as (fd, st):
                    if stat.S_ISLNK(st.st_mode):
                        raise link_refused(VERB, wp.container_path)
                    archiver.add_looked_up(fd, st, wp.name, wp.container_path, 0)
        return tar.finish()


def not_single(wp: WorkPath, dir_fd: int) -> NotASingleFile:
    if has_entries(dir_fd):
        return NotASingleFile(
            f"Expected a single-file archive but found multiple files from {wp.container_path}")
    return NotASingleFile(f"Could not read {wp.container_path}: it is an empty directory, not a file")


def read_single(wd: WorkDir, wp: WorkPath, limit: int) -> bytes:
    if not wp.parts:
        raise not_single(wp, wd.fd)
    with wd.parent(wp) as parent, wd.lookup(parent, wp.parts[-1], wp.container_path) as (path_fd, st):
        if stat.S_ISLNK(st.st_mode):
            raise link_refused(VERB, wp.container_path)
        if stat.S_ISDIR(st.st_mode):
            fd = open_listable(path_fd)
            try:
                raise not_single(wp, fd)
            finally:
                os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotASingleFile(f"Could not read {wp.container_path}: it is not a regular file")
        if single_file_tar_size(wp.name, st) > limit:
            raise too_large(limit)
        fd = reopen_regular(path_fd)
        try:
            return read_at_most(fd, st.st_size)
        finally:
            os.close(fd)


def download_single(work_dir: Path, filepath: str, limit: int) -> bytes:
    """The bytes of the one regular file at container path `filepath` (its tar within `limit`)."""
    wp = resolve(filepath, VERB)
    with WorkDir(work_dir, VERB) as wd, wd.reporting(wp.container_path):
        return read_single(wd, wp, limit)
