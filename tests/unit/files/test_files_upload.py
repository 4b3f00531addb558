from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from contract.errors import ArchiveTooLarge, FileOperationFailed, InvalidInput, OutsideWorkDir
from tests.unit.files.conftest import Sandbox
from worker.files import upload
from worker.files.upload import Owner, accept_file

OWNER = Owner(1234, 2345)
LIMIT = 1 << 20


def test_accept_file_creates_parents_owned_by_the_kernel_user(sandbox: Sandbox) -> None:
    accept_file(sandbox.work, OWNER, "/home/work/a/b/c.bin", b"\x00\xffdata", LIMIT)
    target = sandbox.work / "a" / "b" / "c.bin"
    assert target.read_bytes() == b"\x00\xffdata"
    for p in (sandbox.work / "a", sandbox.work / "a" / "b", target):
        st = p.stat()
        assert (st.st_uid, st.st_gid) == (1234, 2345)
    assert target.stat().st_mode & 0o777 == 0o644
    assert (sandbox.work / "a").stat().st_mode & 0o777 == 0o755
    assert sandbox.leftovers() == []


def test_accept_file_replaces_a_file_without_writing_through_its_hard_links(sandbox: Sandbox) -> None:
    (sandbox.work / "old.txt").write_bytes(b"old")
    os.link(sandbox.work / "old.txt", sandbox.work / "other-link.txt")
    accept_file(sandbox.work, OWNER, "old.txt", b"new", LIMIT)
    assert (sandbox.work / "old.txt").read_bytes() == b"new"
    assert (sandbox.work / "other-link.txt").read_bytes() == b"old"


def test_accept_file_refuses_a_symlinked_parent_directory(sandbox: Sandbox) -> None:
    (sandbox.work / "escape").symlink_to(sandbox.outside)
    before = sandbox.snapshot_outside()
    with pytest.raises(OutsideWorkDir, match=r"escape is a symbolic link"):
        accept_file(sandbox.work, OWNER, "/home/work/escape/secret.txt", b"pwned", LIMIT)
    with pytest.raises(OutsideWorkDir):
        accept_file(sandbox.work, OWNER, "/home/work/escape/new/deeper.txt", b"pwned", LIMIT)
    assert sandbox.snapshot_outside() == before
    assert sandbox.leftovers() == []


def test_accept_file_refuses_a_symlink_as_the_target(sandbox: Sandbox) -> None:
    (sandbox.work / "note.txt").symlink_to(sandbox.outside / "secret.txt")
    before = sandbox.snapshot_outside()
    with pytest.raises(OutsideWorkDir, match=r"note.txt is a symbolic link"):
        accept_file(sandbox.work, OWNER, "note.txt", b"pwned", LIMIT)
    assert sandbox.snapshot_outside() == before
    assert (sandbox.work / "note.txt").is_symlink()
    assert sandbox.leftovers() == []


def test_accept_file_refuses_dot_dot_and_absolute_paths(sandbox: Sandbox) -> None:
    before = sandbox.snapshot_outside()
    for name in ("/home/work/../attempt_outside.txt", "/etc/new_file_by_agent", "../outside/secret.txt"):
        with pytest.raises(OutsideWorkDir, match=r"^You cannot upload files outside /home/work"):
            accept_file(sandbox.work, OWNER, name, b"x", LIMIT)
    assert sandbox.snapshot_outside() == before
    assert not Path("/etc/new_file_by_agent").exists()


def test_accept_file_onto_a_directory_fails_and_leaves_nothing(sandbox: Sandbox) -> None:
    (sandbox.work / "dir").mkdir()
    with pytest.raises(FileOperationFailed, match=r"is a directory"):
        accept_file(sandbox.work, OWNER, "dir", b"x", LIMIT)
    with pytest.raises(InvalidInput):
        accept_file(sandbox.work, OWNER, "/home/work", b"x", LIMIT)
    assert sandbox.leftovers() == []


def test_accept_file_under_a_regular_file_fails_and_removes_the_directories_it_made(sandbox: Sandbox) -> None:
    (sandbox.work / "file").write_bytes(b"")
    with pytest.raises(FileOperationFailed, match=r"not a directory"):
        accept_file(sandbox.work, OWNER, "new1/new2/../../file/x.txt", b"x", LIMIT)
    with pytest.raises(FileOperationFailed, match=r"not a directory"):
        accept_file(sandbox.work, OWNER, "file/new/x.txt", b"x", LIMIT)
    assert sorted(p.name for p in sandbox.work.iterdir()) == ["file"]


def test_accept_file_refuses_data_over_the_upload_limit(sandbox: Sandbox) -> None:
    with pytest.raises(ArchiveTooLarge, match=r"exceeding 1 KiB"):
        accept_file(sandbox.work, OWNER, "big", b"x" * 1025, 1024)
    assert list(sandbox.work.iterdir()) == []


def test_accept_file_disk_full_leaves_no_temp_file_nor_new_directories(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(upload.os, "write", full)
    with pytest.raises(FileOperationFailed, match=r"No space left on device"):
        accept_file(sandbox.work, OWNER, "a/b/c.txt", b"data", LIMIT)
    assert list(sandbox.work.iterdir()) == []


def test_accept_file_notices_a_new_directory_swapped_for_a_symlink(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's user replaces a directory the agent just made with a link to outside."""
    real_mkdir = os.mkdir

    def mkdir_then_swap(name: str, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        real_mkdir(name, mode, dir_fd=dir_fd)
        os.rmdir(name, dir_fd=dir_fd)
        os.symlink(str(sandbox.outside), name, dir_fd=dir_fd)

    monkeypatch.setattr(upload.os, "mkdir", mkdir_then_swap)
    before = sandbox.snapshot_outside()
    with pytest.raises(OutsideWorkDir):
        accept_file(sandbox.work, OWNER, "sub/secret.txt", b"pwned", LIMIT)
    assert sandbox.snapshot_outside() == before


def test_accept_file_on_a_missing_work_dir_is_a_runtime_error(tmp_path: Path) -> None:
    with pytest.raises(FileOperationFailed, match=r"cannot be opened"):
        accept_file(tmp_path / "gone", OWNER, "x", b"x", LIMIT)
