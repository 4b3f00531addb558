"""list_files: the entries of a directory below /home/work, with ls-style modes and times.

Entries are described with lstat: a symlink is listed as a link, never followed. A path that is
missing or not a directory is not an exception: like the reference's in-container script, the
result carries an empty `files` and the reason in `errors`.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from contract.errors import FileOperationFailed
from contract.files import ListFilesResp
from worker.files.confined import WorkDir, open_listable
from worker.files.paths import WorkPath, link_refused, resolve

VERB = "list"


def describe(name: str, st: os.stat_result) -> dict[str, Any]:
    return {
        "filename": name,
        "size": st.st_size,
        "mode": stat.filemode(st.st_mode),
        "mtime": st.st_mtime,
        "ctime": st.st_ctime,
        "atime": st.st_atime,
    }


def entries(dir_fd: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` entries of the open directory (one removed meanwhile is left out), sorted by
    name, and whether there were more (the scan stops there: a huge directory costs no more)."""
    found: list[dict[str, Any]] = []
    truncated = False
    with os.scandir(dir_fd) as it:
        for entry in it:
            if len(found) == limit:
                truncated = True
                break
            try:
                found.append(describe(entry.name, os.stat(entry.name, dir_fd=dir_fd, follow_symlinks=False)))
            except FileNotFoundError:
                continue
    return sorted(found, key=lambda e: str(e["filename"])), truncated


def open_target(wd: WorkDir, wp: WorkPath) -> int:
    """A readable fd of the directory `wp` names."""
    if not wp.parts:
        return os.dup(wd.fd)
    with wd.parent(wp) as parent, wd.lookup(parent, wp.parts[-1], wp.container_path) as (path_fd, st):
        if stat.S_ISLNK(st.st_mode):
            raise link_refused(VERB, wp.container_path)
        if not stat.S_ISDIR(st.st_mode):
            raise FileOperationFailed(f"Could not {VERB} {wp.container_path}: not a directory")
        return open_listable(path_fd)


def list_files(work_dir: Path, path: str, limit: int) -> ListFilesResp:
    """The entries (at most `limit`) of the directory at container path `path` as the spec's JSON string."""
    wp = resolve(path, VERB)
    with WorkDir(work_dir, VERB) as wd:
        try:
            with wd.reporting(wp.container_path):
                fd = open_target(wd, wp)
                try:
                    found, truncated = entries(fd, limit)
                finally:
                    os.close(fd)
        except FileOperationFailed as e:
            return ListFilesResp(files="", errors=str(e), abspath=path)
    return ListFilesResp(files=json.dumps(found), errors="", abspath=path, truncated=truncated)
