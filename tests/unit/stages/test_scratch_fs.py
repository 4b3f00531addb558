"""Files below a kernel's work dir are written and removed without ever following a link the
kernel's user planted; secrets are split from a context and put back exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract.redaction import MASK
from worker.kernel_secrets import join_secrets, split_secrets
from worker.stages.fs import make_dir, remove_file, write_file


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "id_rsa").write_text("the host's own file")
    return tmp_path / "work"


def test_a_write_through_a_linked_parent_is_refused_and_writes_nothing_outside(work: Path) -> None:
    (work / ".ssh").symlink_to(work.parent / "host")
    with pytest.raises(OSError):
        write_file(work, ".ssh/id_rsa", "overwritten", 0o600)
    assert (work.parent / "host" / "id_rsa").read_text() == "the host's own file"


def test_a_write_onto_a_planted_link_is_refused(work: Path) -> None:
    (work / "bootstrap.sh").symlink_to(work.parent / "host" / "id_rsa")
    with pytest.raises(OSError):
        write_file(work, "bootstrap.sh", "overwritten")
    assert (work.parent / "host" / "id_rsa").read_text() == "the host's own file"


def test_a_removal_through_a_parent_swapped_for_a_link_removes_nothing(work: Path) -> None:
    make_dir(work, ".ssh", 0o700)
    write_file(work, ".ssh/id_rsa", "key", 0o600)
    os.rename(work / ".ssh", work / ".ssh-old")
    (work / ".ssh").symlink_to(work.parent / "host")  # what a kernel's user does before a destroy
    assert remove_file(work, ".ssh/id_rsa") is False
    assert (work.parent / "host" / "id_rsa").read_text() == "the host's own file"


def test_missing_parents_are_made_with_the_mode_asked(work: Path) -> None:
    write_file(work, "a/b/c.txt", "x", 0o600, dir_mode=0o750)
    assert (work / "a" / "b" / "c.txt").read_text() == "x"
    assert (work / "a").stat().st_mode & 0o777 == 0o750
    assert remove_file(work, "a/b/c.txt") is True and not (work / "a" / "b" / "c.txt").exists()


def test_secrets_are_split_out_at_any_depth_and_joined_back_exactly() -> None:
    data = {"image": {"registry": {"password": "pw", "username": "u"}},
            "internal_data": {"ssh_keypair": {"private_key": "k", "public_key": "p"}, "docker_credentials": {"a": 1}},
            "list": [{"password": "x"}, {"password": None}]}
    masked, secrets = split_secrets(data)
    assert masked["image"]["registry"] == {"password": MASK, "username": "u"}
    assert masked["internal_data"]["docker_credentials"] == MASK and masked["list"][1] == {"password": None}
    assert secrets == {"image.registry.password": "pw", "internal_data.ssh_keypair.private_key": "k",
                       "internal_data.docker_credentials": {"a": 1}, "list.0.password": "x"}
    assert join_secrets(masked, secrets) == data
