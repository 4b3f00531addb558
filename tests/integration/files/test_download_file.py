"""download_file against a real kernel: spec scenarios and parity with docker's get_archive names."""

from __future__ import annotations

import io
import tarfile
import uuid
from typing import Any

import pytest

from tests.integration.files.conftest import FilesKernel


def tar_contents(data: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        out: dict[str, bytes | None] = {}
        for m in tar.getmembers():
            f = tar.extractfile(m) if m.isfile() else None
            out[m.name] = f.read() if f else None
        return out


def docker_names(fk: FilesKernel, path: str) -> set[str]:
    stream, _ = fk.container.get_archive(path)
    return set(tar_contents(b"".join(stream)))


def test_download_file_of_a_single_file(fk: FilesKernel, unique: str) -> None:
    """Scenario 1."""
    d = f"/home/work/data-{unique}"
    assert fk.sh(f"mkdir {d} && printf 'Test content for download.' > {d}/sample.txt")[0] == 0
    data = fk.call("download_file", filepath=f"{d}/sample.txt")
    assert isinstance(data, bytes)
    assert tar_contents(data) == {"sample.txt": b"Test content for download."}
    assert docker_names(fk, f"{d}/sample.txt") == {"sample.txt"}


def test_download_file_of_a_directory(fk: FilesKernel, unique: str) -> None:
    """Scenario 2 (the kernel's user made the tree)."""
    p = f"/home/work/project_files-{unique}"
    rc, out = fk.sh(f"mkdir -p {p}/docs && printf \"print('hello')\" > {p}/file1.py && "
                    f"printf '# Project' > {p}/docs/readme.md")
    assert rc == 0, out
    found = tar_contents(fk.call("download_file", filepath=p))
    name = f"project_files-{unique}"
    assert found[f"{name}/file1.py"] == b"print('hello')"
    assert found[f"{name}/docs/readme.md"] == b"# Project"
    assert set(found) == docker_names(fk, p)


def test_download_file_outside_the_work_dir_is_refused(fk: FilesKernel) -> None:
    """Scenario 3."""
    with pytest.raises(PermissionError, match=r"^You cannot download files outside /home/work"):
        fk.call("download_file", filepath="/etc/important_config")


def test_download_file_over_one_mib_is_a_value_error(fk: FilesKernel, unique: str) -> None:
    """Scenario 4."""
    p = f"/home/work/very_large_data-{unique}"
    assert fk.sh(f"mkdir {p} && head -c 700000 /dev/urandom > {p}/a && cp {p}/a {p}/b")[0] == 0
    with pytest.raises(ValueError, match=r"^Too large archive file exceeding 1 MiB$"):
        fk.call("download_file", filepath=p)


def test_download_file_limit_follows_the_setting(fk: FilesKernel, unique: str, settings: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert fk.sh(f"head -c 70000 /dev/zero > /home/work/mid-{unique}")[0] == 0
    monkeypatch.setattr(settings, "max_archive_size", 64 << 10)  # the in-process worker's settings
    with pytest.raises(ValueError, match=r"^Too large archive file exceeding 64 KiB$"):
        fk.call("download_file", filepath=f"mid-{unique}")


def test_download_file_of_a_missing_path_is_a_runtime_error(fk: FilesKernel) -> None:
    """Scenario 5."""
    with pytest.raises(RuntimeError, match="No such file or directory"):
        fk.call("download_file", filepath="/home/work/non_existent_file.txt")


def test_download_file_from_an_unknown_kernel_is_a_key_error(client: Any) -> None:
    """Scenario 6."""
    with pytest.raises(KeyError):
        client.call("download_file", kernel_id=str(uuid.uuid4()), filepath="/home/work/any_file.txt")
