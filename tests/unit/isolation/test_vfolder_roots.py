"""vfolder host paths: only real directories strictly below a configured root, reached without links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from worker.vfolders import VFolderRefused, resolve_host_path

NOT_PLAIN = re.escape("has an empty, '.' or '..' component")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "vfroot"
    (r / "user1" / "data").mkdir(parents=True)
    (r / "file").write_text("x")
    (tmp_path / "outside").mkdir()
    return r


def test_a_directory_below_a_root_resolves_to_its_real_path(root: Path) -> None:
    assert resolve_host_path(f"{root}/user1/data", [root]) == root / "user1" / "data"
    assert resolve_host_path(f"{root}/user1/", [root]) == root / "user1"


def test_a_root_that_is_a_link_is_the_administrators_and_resolves(root: Path, tmp_path: Path) -> None:
    link = tmp_path / "roots-link"
    link.symlink_to(root)
    assert resolve_host_path(f"{link}/user1/data", [link]) == root / "user1" / "data"
    assert resolve_host_path(f"{root}/user1/data", [link]) == root / "user1" / "data"


@pytest.mark.parametrize(("path", "why"), [
    ("/", "not below a configured vfolder root"),
    ("{root}", "not below a configured vfolder root"),
    ("{tmp}/outside", "not below a configured vfolder root"),
    ("{root}/../outside", NOT_PLAIN),
    ("{root}/user1/./data", NOT_PLAIN),
    ("{root}//user1", NOT_PLAIN),
    ("user1/data", "not an absolute path"),
    ("{root}/missing", "cannot be opened"),
    ("{root}/file", "is not a directory"),
])
def test_paths_outside_a_root_or_not_plain_are_refused(root: Path, tmp_path: Path, path: str, why: str) -> None:
    with pytest.raises(VFolderRefused, match=why):
        resolve_host_path(path.format(root=root, tmp=tmp_path), [root])


@pytest.mark.parametrize("target", ["outside", "vfroot/user1"])
def test_a_link_below_a_root_is_refused_wherever_it_points(root: Path, tmp_path: Path, target: str) -> None:
    (root / "user2").symlink_to(tmp_path / target)
    with pytest.raises(VFolderRefused, match=r"user2 is a symbolic link"):
        resolve_host_path(f"{root}/user2", [root])
    with pytest.raises(VFolderRefused, match=r"user2 is a symbolic link"):
        resolve_host_path(f"{root}/user2/data", [root])


def test_without_configured_roots_every_host_path_is_refused(root: Path) -> None:
    with pytest.raises(VFolderRefused, match="no vfolder roots are configured"):
        resolve_host_path(f"{root}/user1", [])
