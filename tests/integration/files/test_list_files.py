"""list_files against a real kernel: spec scenarios."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.files.conftest import FilesKernel


def test_list_files_of_a_directory(fk: FilesKernel, unique: str) -> None:
    """Scenario 1."""
    d = f"/home/work/documents-{unique}"
    assert fk.sh(f"mkdir -p {d}/images && printf 12345 > {d}/report.docx")[0] == 0
    resp = fk.call("list_files", path=d)
    assert resp["abspath"] == d and resp["errors"] == ""
    files = {f["filename"]: f for f in json.loads(resp["files"])}
    assert set(files) == {"report.docx", "images"}
    assert files["report.docx"]["size"] == 5 and files["report.docx"]["mode"] == "-rw-r--r--"
    assert files["images"]["mode"].startswith("d")
    assert {"mtime", "ctime", "atime"} <= set(files["images"])


def test_list_files_of_an_empty_directory(fk: FilesKernel, unique: str) -> None:
    """Scenario 2."""
    d = f"/home/work/empty_dir-{unique}"
    assert fk.sh(f"mkdir {d}")[0] == 0
    resp = fk.call("list_files", path=d)
    assert (resp["abspath"], resp["errors"], json.loads(resp["files"])) == (d, "", [])


def test_list_files_outside_the_work_dir_is_refused(fk: FilesKernel) -> None:
    """Scenario 3."""
    with pytest.raises(PermissionError, match=r"^You cannot list files outside /home/work"):
        fk.call("list_files", path="/etc")


def test_list_files_of_a_missing_path_reports_it_in_errors(fk: FilesKernel) -> None:
    """Scenario 4."""
    resp = fk.call("list_files", path="/home/work/this_folder_does_not_exist")
    assert resp["abspath"] == "/home/work/this_folder_does_not_exist"
    assert resp["files"] == ""
    assert "No such file or directory" in resp["errors"]


def test_list_files_of_an_unknown_kernel_is_a_key_error(client: Any) -> None:
    """Scenario 5."""
    with pytest.raises(KeyError):
        client.call("list_files", kernel_id=str(uuid.uuid4()), path="/home/work/any_target_path")
