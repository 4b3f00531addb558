from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from contract.errors import ArchiveTooLarge, FileOperationFailed, NotASingleFile, OutsideWorkDir
from tests.unit.files.conftest import Sandbox
from worker.files.archive import download_file, download_single, single_file_tar_size

LIMIT = 1 << 20


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def content(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def test_download_file_archives_a_single_file_under_its_base_name(sandbox: Sandbox) -> None:
    (sandbox.work / "data").mkdir()
    (sandbox.work / "data" / "sample.txt").write_bytes(b"Test content for download.")
    data = download_file(sandbox.work, "/home/work/data/sample.txt", LIMIT)
    assert list(members(data)) == ["sample.txt"]
    assert content(data, "sample.txt") == b"Test content for download."
    assert len(data) % 512 == 0


def test_download_file_archives_a_directory_with_its_contents(sandbox: Sandbox) -> None:
    (sandbox.work / "project_files" / "docs").mkdir(parents=True)
    (sandbox.work / "project_files" / "file1.py").write_bytes(b"print('hello')")
    (sandbox.work / "project_files" / "docs" / "readme.md").write_bytes(b"# Project")
    data = download_file(sandbox.work, "/home/work/project_files", LIMIT)
    assert set(members(data)) == {"project_files", "project_files/file1.py", "project_files/docs",
                                  "project_files/docs/readme.md"}
    assert content(data, "project_files/file1.py") == b"print('hello')"
    assert content(data, "project_files/docs/readme.md") == b"# Project"


@pytest.mark.timeout(10)
def test_download_file_never_follows_links_nor_opens_special_files(sandbox: Sandbox) -> None:
    d = sandbox.work / "d"
    d.mkdir()
    (d / "to-secret").symlink_to(sandbox.outside / "secret.txt")
    (d / "to-outside").symlink_to(sandbox.outside)
    os.mkfifo(d / "fifo")  # opening it for reading would block forever
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(d / "sock"))
        (d / "a").write_bytes(b"same")
        os.link(d / "a", d / "b")
        data = download_file(sandbox.work, "d", LIMIT)
    found = members(data)
    assert found["d/to-secret"].issym()
    assert found["d/to-secret"].linkname == str(sandbox.outside / "secret.txt")
    assert found["d/to-outside"].issym()
    assert found["d/fifo"].isfifo()
    assert "d/sock" not in found
    linked = [m for m in found.values() if m.islnk()]
    assert len(linked) == 1 and linked[0].linkname in ("d/a", "d/b")
    assert b"host secret" not in data


@pytest.mark.timeout(10)
def test_download_of_a_fifo_does_not_block(sandbox: Sandbox) -> None:
    os.mkfifo(sandbox.work / "pipe")
    assert members(download_file(sandbox.work, "pipe", LIMIT))["pipe"].isfifo()
    with pytest.raises(NotASingleFile, match=r"not a regular file"):
        download_single(sandbox.work, "pipe", LIMIT)


def test_download_refuses_symlinks_in_the_requested_path(sandbox: Sandbox) -> None:
    (sandbox.work / "escape").symlink_to(sandbox.outside)
    (sandbox.work / "secret-link").symlink_to(sandbox.outside / "secret.txt")
    for path in ("escape/secret.txt", "escape", "secret-link"):
        with pytest.raises(OutsideWorkDir, match=r"^You cannot download files outside /home/work"):
            download_file(sandbox.work, path, LIMIT)
        with pytest.raises(OutsideWorkDir, match=r"^You cannot download files outside /home/work"):
            download_single(sandbox.work, path, LIMIT)


def test_download_limit_counts_the_whole_archive(sandbox: Sandbox) -> None:
    limit = 64 << 10
    st_probe = sandbox.work / "probe"
    st_probe.write_bytes(b"")
    overhead = single_file_tar_size("f", st_probe.stat())  # header + end blocks
    (sandbox.work / "f").write_bytes(b"x" * (limit - overhead))
    assert len(download_file(sandbox.work, "f", limit)) == limit
    assert len(download_single(sandbox.work, "f", limit)) == limit - overhead
    (sandbox.work / "f").write_bytes(b"x" * (limit - overhead + 1))
    with pytest.raises(ArchiveTooLarge, match=r"^Too large archive file exceeding 64 KiB$"):
        download_file(sandbox.work, "f", limit)
    with pytest.raises(ArchiveTooLarge, match=r"^Too large archive file exceeding 64 KiB$"):
        download_single(sandbox.work, "f", limit)


def test_download_single_of_a_file_just_under_the_limit_fails_on_tar_overhead(sandbox: Sandbox) -> None:
    (sandbox.work / "data_archive_source.dat").write_bytes(os.urandom(LIMIT - 100))
    with pytest.raises(ArchiveTooLarge, match=r"^Too large archive file exceeding 1 MiB$"):
        download_single(sandbox.work, "/home/work/data_archive_source.dat", LIMIT)


@pytest.mark.timeout(10)
def test_download_refuses_a_huge_file_before_reading_it(sandbox: Sandbox) -> None:
    with open(sandbox.work / "sparse", "wb") as f:
        f.truncate(1 << 40)  # 1 TiB, sparse: reading it would take ages
    with pytest.raises(ArchiveTooLarge):
        download_file(sandbox.work, "sparse", LIMIT)
    with pytest.raises(ArchiveTooLarge):
        download_single(sandbox.work, "sparse", LIMIT)


def test_download_of_a_big_directory_stops_at_the_limit(sandbox: Sandbox) -> None:
    big = sandbox.work / "very_large_data"
    big.mkdir()
    for i in range(40):
        (big / f"part{i}").write_bytes(b"y" * (32 << 10))
    with pytest.raises(ArchiveTooLarge, match=r"^Too large archive file exceeding 1 MiB$"):
        download_file(sandbox.work, "/home/work/very_large_data", LIMIT)


def test_download_single_returns_the_raw_bytes(sandbox: Sandbox) -> None:
    (sandbox.work / "documents").mkdir()
    blob = bytes(range(256)) * 100
    (sandbox.work / "documents" / "report.bin").write_bytes(blob)
    assert download_single(sandbox.work, "/home/work/documents/report.bin", LIMIT) == blob


def test_download_single_refuses_directories(sandbox: Sandbox) -> None:
    (sandbox.work / "my_pictures").mkdir()
    (sandbox.work / "empty").mkdir()
    (sandbox.work / "my_pictures" / "photo1.jpg").write_bytes(b"1")
    with pytest.raises(NotASingleFile, match=r"^Expected a single-file archive but found multiple files from "
                                             r"/home/work/my_pictures$"):
        download_single(sandbox.work, "/home/work/my_pictures", LIMIT)
    with pytest.raises(NotASingleFile, match=r"empty directory"):
        download_single(sandbox.work, "empty", LIMIT)


def test_download_of_a_missing_path_is_a_runtime_error(sandbox: Sandbox) -> None:
    with pytest.raises(FileOperationFailed, match=r"No such file"):
        download_file(sandbox.work, "/home/work/non_existent_file.txt", LIMIT)
    with pytest.raises(FileOperationFailed, match=r"No such file"):
        download_single(sandbox.work, "nope/deeper.txt", LIMIT)


def test_download_of_the_work_dir_itself_is_named_work(sandbox: Sandbox) -> None:
    (sandbox.work / "x").write_bytes(b"x")
    assert set(members(download_file(sandbox.work, "/home/work", LIMIT))) == {"work", "work/x"}


def test_download_never_returns_outside_content_while_a_dir_is_swapped_for_a_link(sandbox: Sandbox) -> None:
    """The kernel's user flips `x` between a directory and a link to outside as fast as it can."""
    (sandbox.outside / "f").write_bytes(b"host secret")
    x, parked = sandbox.work / "x", sandbox.work / "x.parked"
    x.mkdir()
    (x / "f").write_bytes(b"fine")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            x.rename(parked)
            x.symlink_to(sandbox.outside)
            x.unlink()
            parked.rename(x)
            stop.wait(0.0002)  # a moment as a plain directory, so some downloads find it so on a busy machine

    flipper = threading.Thread(target=flip)
    flipper.start()
    outcomes: set[str] = set()
    try:
        for _ in range(400):
            for path in ("x/f", "x"):
                try:
                    data = download_file(sandbox.work, path, LIMIT)
                except (OutsideWorkDir, FileOperationFailed) as e:
                    outcomes.add(type(e).__name__)
                    continue
                outcomes.add("archive")
                assert b"host secret" not in data
    finally:
        stop.set()
        flipper.join()
    assert "archive" in outcomes


def test_download_of_a_path_through_a_regular_file_is_a_runtime_error(sandbox: Sandbox) -> None:
    (sandbox.work / "file").write_bytes(b"")
    with pytest.raises(FileOperationFailed, match=r"not a directory"):
        download_file(sandbox.work, "file/x", LIMIT)


def test_download_refuses_absurdly_deep_trees(sandbox: Sandbox, tmp_path: Path) -> None:
    d = sandbox.work / "deep"
    d.mkdir()
    fd = os.open(d, os.O_RDONLY)
    try:
        for _ in range(130):
            os.mkdir("n", dir_fd=fd)
            nfd = os.open("n", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
    finally:
        os.close(fd)
    with pytest.raises(ArchiveTooLarge, match=r"deeper than 128"):
        download_file(sandbox.work, "deep", LIMIT)
