"""Fuzzed container paths: whatever the name, nothing outside the work directory is read or changed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.files.conftest import Sandbox
from worker.files.archive import download_file, download_single
from worker.files.listing import list_files
from worker.files.upload import Owner, accept_file

SPEC_ERRORS = (PermissionError, ValueError, RuntimeError)
PART = st.one_of(
    st.sampled_from(["..", ".", "", "home", "work", "etc", "outside", "escape", "secret.txt", "fifo",
                     "file", "..." , "~", "\\", "x" * 255, "y" * 256]),
    st.text(min_size=1, max_size=12),
)
PATHS = st.builds(lambda lead, parts: lead + "/".join(parts),
                  st.sampled_from(["", "/", "/home/work/", "//", "/home/work/../"]),
                  st.lists(PART, min_size=0, max_size=6))


def make_sandbox() -> Sandbox:
    root = Path(tempfile.mkdtemp(prefix="files-fuzz-"))
    work = root / "scratch" / "work"
    work.mkdir(parents=True)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"host secret")
    (work / "escape").symlink_to(outside)
    (work / "file").write_bytes(b"inside")
    os.mkfifo(work / "fifo")
    return Sandbox(root, work, outside)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS, data=st.binary(max_size=64))
def test_fuzzed_paths_never_touch_anything_outside_the_work_dir(path: str, data: bytes) -> None:
    sb = make_sandbox()
    try:
        before = sb.snapshot_outside()
        for op in (lambda: accept_file(sb.work, Owner(4321, 4321), path, data, 1 << 20),
                   lambda: download_file(sb.work, path, 1 << 20),
                   lambda: download_single(sb.work, path, 1 << 20),
                   lambda: list_files(sb.work, path, 1000)):
            try:
                result = op()
            except SPEC_ERRORS:
                continue
            if isinstance(result, bytes):
                assert b"host secret" not in result
        assert sb.snapshot_outside() == before
        assert sb.leftovers() == []
        for dirpath, _, filenames in os.walk(sb.work):
            for name in filenames:
                p = Path(dirpath, name)
                if p.is_file() and not p.is_symlink() and p.name not in ("file",):
                    assert p.stat().st_uid == 4321
    finally:
        shutil.rmtree(sb.root)
