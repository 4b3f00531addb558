"""download_single against a real kernel: spec scenarios and byte-identical binary round trips."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import pytest

from tests.integration.files.conftest import FilesKernel


def test_download_single_returns_the_file_bytes(fk: FilesKernel, unique: str) -> None:
    """Scenario 1."""
    d = f"/home/work/documents-{unique}"
    assert fk.sh(f"mkdir {d} && printf 'This is the final report.' > {d}/report.txt")[0] == 0
    assert fk.call("download_single", filepath=f"{d}/report.txt") == b"This is the final report."


def test_download_single_of_a_directory_is_refused(fk: FilesKernel, unique: str) -> None:
    """Scenario 2."""
    d = f"/home/work/my_pictures-{unique}"
    assert fk.sh(f"mkdir {d} && echo 1 > {d}/photo1.jpg && echo 2 > {d}/photo2.png")[0] == 0
    expected = f"Expected a single-file archive but found multiple files from {d}"
    with pytest.raises(ValueError, match=rf"^{expected}$"):
        fk.call("download_single", filepath=d)


def test_download_single_outside_the_work_dir_is_refused(fk: FilesKernel) -> None:
    """Scenario 3."""
    with pytest.raises(PermissionError, match=r"^You cannot download files outside /home/work"):
        fk.call("download_single", filepath="/usr/bin/binary")


def test_download_single_whose_tar_passes_one_mib_is_a_value_error(fk: FilesKernel, unique: str) -> None:
    """Scenario 4: the file is under 1 MiB, its tar is not."""
    p = f"/home/work/data_archive_source-{unique}.dat"
    assert fk.sh(f"head -c {(1 << 20) - 100} /dev/urandom > {p}")[0] == 0
    with pytest.raises(ValueError, match=r"^Too large archive file exceeding 1 MiB$"):
        fk.call("download_single", filepath=p)


def test_download_single_of_a_missing_file_is_a_runtime_error(fk: FilesKernel) -> None:
    """Scenario 5."""
    with pytest.raises(RuntimeError, match="No such file or directory"):
        fk.call("download_single", filepath="/home/work/fantasy_novel.txt")


def test_download_single_from_an_unknown_kernel_is_a_key_error(client: Any) -> None:
    """Scenario 6."""
    with pytest.raises(KeyError):
        client.call("download_single", kernel_id=str(uuid.uuid4()), filepath="/home/work/any_single_file.dat")


def test_binary_round_trip_is_byte_identical(fk: FilesKernel, unique: str) -> None:
    blob = os.urandom(700 << 10) + bytes(range(256)) + b"\x00" * 1000
    fk.call("accept_file", filename=f"/home/work/rt-{unique}/blob.bin", filedata=blob)
    assert fk.call("download_single", filepath=f"rt-{unique}/blob.bin") == blob
    rc, out = fk.sh(f"sha256sum /home/work/rt-{unique}/blob.bin")
    assert rc == 0 and out.split()[0] == hashlib.sha256(blob).hexdigest()
