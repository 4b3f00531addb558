"""`agentctl kernel upload|download|ls` against a real kernel."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from agent_client.cli.main import main
from tests.integration.files.conftest import FilesKernel


def agentctl(fk: FilesKernel, *args: str) -> int:
    return main(["--agent", fk.client.agent_id, "--redis-url", fk.client.app.conf.broker_url, *args])


def test_agentctl_uploads_downloads_and_lists(fk: FilesKernel, unique: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    blob = os.urandom(50_000)
    (tmp_path / "local.bin").write_bytes(blob)
    dest = f"/home/work/cli-{unique}/remote.bin"
    assert agentctl(fk, "kernel", "upload", fk.kernel_id, str(tmp_path / "local.bin"), dest) == 0
    assert agentctl(fk, "kernel", "download", fk.kernel_id, dest, "-o", str(tmp_path / "back.bin")) == 0
    assert (tmp_path / "back.bin").read_bytes() == blob
    assert agentctl(fk, "kernel", "download", "--tar", fk.kernel_id, f"cli-{unique}",
                    "-o", str(tmp_path / "dir.tar")) == 0
    with tarfile.open(fileobj=io.BytesIO((tmp_path / "dir.tar").read_bytes())) as tar:
        assert tar.getnames() == [f"cli-{unique}", f"cli-{unique}/remote.bin"]
    capsys.readouterr()
    assert agentctl(fk, "kernel", "ls", fk.kernel_id, f"cli-{unique}") == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("-rw-r--r--") and line.endswith(" remote.bin") and " 50000 " in line


def test_agentctl_reports_refusals_and_missing_paths(
        fk: FilesKernel, capsys: pytest.CaptureFixture[str]) -> None:
    assert agentctl(fk, "kernel", "ls", fk.kernel_id, "/etc") == 1
    assert "PermissionError: You cannot list files outside /home/work" in capsys.readouterr().err
    assert agentctl(fk, "kernel", "ls", fk.kernel_id, "nowhere-at-all") == 1
    assert "No such file or directory" in capsys.readouterr().err
