"""accept_file against a real kernel: spec scenarios, ownership, visibility inside the container."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.files.conftest import FilesKernel


def test_accept_file_uploads_to_the_top_of_the_work_dir(kernel: Any, client: Any) -> None:
    """Scenario 1, on a kernel of its own."""
    target = kernel.work_dir / "uploaded_file.txt"
    assert not target.exists()
    assert client.call("accept_file", kernel_id=kernel.kernel_id, filename="/home/work/uploaded_file.txt",
                       filedata=b"This is test data.") is None
    assert target.read_bytes() == b"This is test data."
    assert (target.stat().st_uid, target.stat().st_gid) == (kernel.uid, kernel.gid)


def test_accept_file_creates_parents_visible_and_owned_inside_the_container(
        fk: FilesKernel, unique: str) -> None:
    fk.call("accept_file", filename=f"/home/work/up-{unique}/a/b/data.txt", filedata=b"hello kernel")
    rc, out = fk.sh(f"cat /home/work/up-{unique}/a/b/data.txt && echo && stat -c '%u:%g %a' "
                    f"/home/work/up-{unique}/a /home/work/up-{unique}/a/b/data.txt")
    assert rc == 0, out
    assert out.splitlines() == ["hello kernel", "1000:1000 755", "1000:1000 644"]
    # the kernel's user owns it: it can change and remove what was uploaded
    rc, out = fk.sh(f"echo more >> /home/work/up-{unique}/a/b/data.txt && rm -r /home/work/up-{unique}")
    assert rc == 0, out


def test_accept_file_refuses_dot_dot_out_of_the_work_dir(fk: FilesKernel) -> None:
    """Scenario 2."""
    with pytest.raises(PermissionError, match=r"^You cannot upload files outside /home/work"):
        fk.call("accept_file", filename="/home/work/../attempt_outside.txt", filedata=b"Malicious data")
    scratch = fk.record.scratch_dir
    assert not (scratch / "attempt_outside.txt").exists()
    assert not Path("/home/attempt_outside.txt").exists()
    assert fk.sh("test ! -e /home/attempt_outside.txt")[0] == 0


def test_accept_file_refuses_an_absolute_path_outside(fk: FilesKernel) -> None:
    """Scenario 3."""
    with pytest.raises(PermissionError, match=r"^You cannot upload files outside /home/work"):
        fk.call("accept_file", filename="/etc/new_file_by_agent", filedata=b"System data attempt")
    assert not Path("/etc/new_file_by_agent").exists()
    assert fk.sh("test ! -e /etc/new_file_by_agent")[0] == 0


def test_accept_file_to_an_unknown_kernel_is_a_key_error(client: Any) -> None:
    """Scenario 4."""
    with pytest.raises(KeyError):
        client.call("accept_file", kernel_id=str(uuid.uuid4()), filename="/home/work/anyfile.txt",
                    filedata=b"Orphaned data")


def test_accept_file_over_the_upload_limit_is_a_value_error(fk: FilesKernel, unique: str) -> None:
    with pytest.raises(ValueError, match=r"^Too large file exceeding 1 MiB"):
        fk.call("accept_file", filename=f"big-{unique}", filedata=b"x" * ((1 << 20) + 1))
    assert not (fk.work / f"big-{unique}").exists()


def test_accept_file_onto_a_directory_is_a_runtime_error_leaving_no_temp_file(
        fk: FilesKernel, unique: str) -> None:
    assert fk.sh(f"mkdir /home/work/dir-{unique}")[0] == 0
    with pytest.raises(RuntimeError, match="is a directory"):
        fk.call("accept_file", filename=f"dir-{unique}", filedata=b"x")
    assert os.listdir(fk.work / f"dir-{unique}") == []
