from __future__ import annotations

import pytest

from contract.errors import InvalidInput, OutsideWorkDir
from worker.files.paths import MAX_DEPTH, human_size, resolve


@pytest.mark.parametrize(("given", "norm", "parts"), [
    ("/home/work/data/x.txt", "/home/work/data/x.txt", ("data", "x.txt")),
    ("data/x.txt", "/home/work/data/x.txt", ("data", "x.txt")),
    ("/home/work/a/../b/./c/", "/home/work/b/c", ("b", "c")),
    ("/home/work", "/home/work", ()),
    (".", "/home/work", ()),
])
def test_resolve_normalises_paths_inside_work_dir(given: str, norm: str, parts: tuple[str, ...]) -> None:
    wp = resolve(given, "download")
    assert (wp.container_path, wp.parts) == (norm, parts)


@pytest.mark.parametrize("given", [
    "/home/work/../attempt_outside.txt", "/etc/passwd", "..", "../work2/x", "/home/workx/y", "//home/work/x",
    "/home/work/a/../../x",
])
def test_resolve_refuses_paths_leaving_work_dir(given: str) -> None:
    with pytest.raises(OutsideWorkDir, match=r"^You cannot upload files outside /home/work"):
        resolve(given, "upload")


def test_resolve_refuses_nul_bytes_and_absurd_depth() -> None:
    with pytest.raises(InvalidInput, match=r"NUL"):
        resolve("a\x00b", "list")
    with pytest.raises(InvalidInput, match=r"deeper"):
        resolve("/".join(["d"] * (MAX_DEPTH + 1)), "list")


def test_human_size_writes_the_configured_limit_as_the_spec_does() -> None:
    assert human_size(1 << 20) == "1 MiB"
    assert human_size(512 << 10) == "512 KiB"
    assert human_size(1000) == "1000 bytes"
