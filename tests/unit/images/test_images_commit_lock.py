"""The commit lock file: exists exactly while held, serialises threads, bounded waits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from contract.errors import CommitFailed, InvalidInput, OutsideCommitPath
from worker.images.commit import commit_paths
from worker.images.commit_lock import commit_lock


def test_lock_file_exists_only_while_held(tmp_path: Path) -> None:
    lock = tmp_path / "k"
    with commit_lock(lock, timeout=1):
        assert lock.exists()
    assert not lock.exists()


def test_threads_take_the_lock_one_after_the_other(tmp_path: Path) -> None:
    lock, inside, overlaps = tmp_path / "k", [0], []

    def work() -> None:
        with commit_lock(lock, timeout=10):
            inside[0] += 1
            overlaps.append(inside[0])
            time.sleep(0.05)
            inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1] * 5 and not lock.exists()


def test_waiting_past_the_timeout_fails(tmp_path: Path) -> None:
    lock = tmp_path / "k"
    with (
        commit_lock(lock, timeout=1),
        pytest.raises(CommitFailed, match="too long"),
        commit_lock(lock, timeout=0.2),
    ):
        pass
    assert not lock.exists()


def test_commit_paths_refuse_symlinks_out_of_the_base_and_the_lock_name(tmp_path: Path) -> None:
    base, outside = tmp_path / "commit", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "escape").symlink_to(outside)
    (base / "ok").mkdir()
    (base / "ok" / "file").symlink_to(outside / "f")
    with pytest.raises(OutsideCommitPath):
        commit_paths(base, "escape", "kid")
    with pytest.raises(OutsideCommitPath):
        commit_paths(base, "ok", "kid", "file")
    with pytest.raises(InvalidInput):
        commit_paths(base, "ok", "kid", "lock")
    paths = commit_paths(base, "ok", "kid", "f.tar.gz")
    assert (paths.lock, paths.export) == (base / "ok" / "lock" / "kid", base / "ok" / "f.tar.gz")
