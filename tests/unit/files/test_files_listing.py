from __future__ import annotations

import json
import os

import pytest

from contract.errors import OutsideWorkDir
from tests.unit.files.conftest import Sandbox
from worker.files.listing import list_files


def test_list_files_describes_each_entry(sandbox: Sandbox) -> None:
    docs = sandbox.work / "documents"
    (docs / "images").mkdir(parents=True)
    (docs / "report.docx").write_bytes(b"12345")
    resp = list_files(sandbox.work, "/home/work/documents", 1000)
    assert (resp.abspath, resp.errors) == ("/home/work/documents", "")
    files = {f["filename"]: f for f in json.loads(resp.files)}
    assert set(files) == {"report.docx", "images"}
    assert files["report.docx"]["size"] == 5
    assert files["report.docx"]["mode"].startswith("-")
    assert files["images"]["mode"].startswith("d")
    st = (docs / "report.docx").stat()
    assert (files["report.docx"]["mtime"], files["report.docx"]["ctime"], files["report.docx"]["atime"]) == (
        st.st_mtime, st.st_ctime, st.st_atime)


def test_list_files_of_an_empty_directory_is_an_empty_list(sandbox: Sandbox) -> None:
    (sandbox.work / "empty_dir").mkdir()
    resp = list_files(sandbox.work, "/home/work/empty_dir", 1000)
    assert json.loads(resp.files) == [] and resp.errors == ""


def test_list_files_lists_links_and_fifos_without_following_or_opening_them(sandbox: Sandbox) -> None:
    (sandbox.work / "escape").symlink_to(sandbox.outside)
    os.mkfifo(sandbox.work / "pipe")
    files = {f["filename"]: f for f in json.loads(list_files(sandbox.work, "/home/work", 1000).files)}
    assert files["escape"]["mode"].startswith("l")
    assert files["pipe"]["mode"].startswith("p")


def test_list_files_refuses_paths_outside_and_symlinked_directories(sandbox: Sandbox) -> None:
    (sandbox.work / "escape").symlink_to(sandbox.outside)
    for path in ("/etc", "/home/work/..", "escape", "escape/sub"):
        with pytest.raises(OutsideWorkDir, match=r"^You cannot list files outside /home/work"):
            list_files(sandbox.work, path, 1000)


def test_list_files_reports_a_missing_path_in_errors(sandbox: Sandbox) -> None:
    resp = list_files(sandbox.work, "/home/work/this_folder_does_not_exist", 1000)
    assert resp.abspath == "/home/work/this_folder_does_not_exist"
    assert resp.files == ""
    assert "No such file or directory" in resp.errors and "this_folder_does_not_exist" in resp.errors
    (sandbox.work / "file").write_bytes(b"")
    assert "not a directory" in list_files(sandbox.work, "file", 1000).errors


def test_a_huge_directory_is_listed_up_to_the_limit_and_says_it_was_truncated(sandbox: Sandbox) -> None:
    big = sandbox.work / "big"
    big.mkdir()
    for i in range(250):
        (big / f"f{i:03d}").touch()
    resp = list_files(sandbox.work, "big", 100)
    assert resp.truncated and resp.errors == "" and len(json.loads(resp.files)) == 100
    assert not list_files(sandbox.work, "big", 250).truncated
