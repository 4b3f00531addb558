"""What the kernel's user can arrange in /home/work never leads the agent outside it, nor makes it hang.

Links made inside the container are resolved by the agent on the host, so they point at host paths
when followed: each test plants a host secret and links to it, and checks it is never read or changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.files.conftest import FilesKernel

SECRET = b"host secret, never to be read by a kernel"


def tree_state(root: Path) -> dict[str, tuple[int, bytes | None]]:
    out: dict[str, tuple[int, bytes | None]] = {}
    for p in [root, *root.rglob("*")]:
        st_ = p.lstat()
        out[str(p)] = (st_.st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


@pytest.fixture
def secret_dir(tmp_path: Path) -> Path:
    d = tmp_path / "host-secrets"
    d.mkdir()
    (d / "secret.txt").write_bytes(SECRET)
    return d


def test_links_made_inside_the_kernel_are_never_followed(
        fk: FilesKernel, unique: str, secret_dir: Path) -> None:
    u = f"/home/work/esc-{unique}"
    rc, out = fk.sh(f"mkdir {u} && cd {u} && ln -s {secret_dir} dir && ln -s {secret_dir}/secret.txt file "
                    "&& ln -s .. up && ln -s / root")
    assert rc == 0, out
    before = tree_state(secret_dir)
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    refused = [("download_file", f"{u}/dir/secret.txt"), ("download_file", f"{u}/file"),
               ("download_single", f"{u}/dir/secret.txt"), ("download_single", f"{u}/root/etc/passwd"),
               ("list_files", f"{u}/dir"), ("list_files", f"{u}/up"), ("list_files", f"{u}/root/etc")]
    for op, path in refused:
        with pytest.raises(PermissionError, match=r"^You cannot (download|list) files outside /home/work"):
            fk.call(op, **({"path": path} if op == "list_files" else {"filepath": path}))
    for name in (f"{u}/dir/new.txt", f"{u}/file", f"{u}/root/tmp/pwned-{unique}", f"{u}/up/pwned-{unique}"):
        with pytest.raises(PermissionError, match=r"^You cannot upload files outside /home/work"):
            fk.call("accept_file", filename=name, filedata=b"pwned")
    assert tree_state(secret_dir) == before
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd
    assert not Path(f"/tmp/pwned-{unique}").exists()
    assert not (fk.work / f"pwned-{unique}").exists()
    # the directory holding the links downloads with the links as links
    with tarfile.open(fileobj=io.BytesIO(fk.call("download_file", filepath=u))) as tar:
        links = {m.name: m.linkname for m in tar.getmembers() if m.issym()}
    assert links == {f"esc-{unique}/dir": str(secret_dir), f"esc-{unique}/file": f"{secret_dir}/secret.txt",
                     f"esc-{unique}/up": "..", f"esc-{unique}/root": "/"}


@pytest.mark.timeout(60)
def test_fifos_made_inside_the_kernel_never_block_the_agent(fk: FilesKernel, unique: str) -> None:
    u = f"/home/work/fifo-{unique}"
    assert fk.sh(f"mkdir {u} && mkfifo {u}/pipe && echo x > {u}/file")[0] == 0
    started = time.monotonic()
    with tarfile.open(fileobj=io.BytesIO(fk.client.call("download_file", kernel_id=fk.kernel_id,
                                                        filepath=u, wait=10))) as tar:
        assert tar.getmember(f"fifo-{unique}/pipe").isfifo()
    with pytest.raises(ValueError, match="not a regular file"):
        fk.client.call("download_single", kernel_id=fk.kernel_id, filepath=f"{u}/pipe", wait=10)
    listed = fk.client.call("list_files", kernel_id=fk.kernel_id, path=u, wait=10)
    assert {f["filename"]: f["mode"][0] for f in json.loads(listed["files"])} == {"pipe": "p", "file": "-"}
    # an upload onto a FIFO replaces it with the file; nothing ever opened the FIFO
    fk.client.call("accept_file", kernel_id=fk.kernel_id, filename=f"{u}/pipe", filedata=b"data", wait=10)
    assert (fk.work / f"fifo-{unique}" / "pipe").read_bytes() == b"data"
    assert time.monotonic() - started < 10


def test_hard_links_cannot_bring_outside_files_into_the_work_dir(fk: FilesKernel, unique: str) -> None:
    """The bind mount stops hard links from outside it (EXDEV); links within it are archived as links."""
    rc, _ = fk.sh(f"ln /etc/passwd /home/work/passwd-{unique}")
    assert rc != 0
    assert not (fk.work / f"passwd-{unique}").exists()
    u = f"/home/work/hl-{unique}"
    assert fk.sh(f"mkdir {u} && echo same > {u}/a && ln {u}/a {u}/b")[0] == 0
    with tarfile.open(fileobj=io.BytesIO(fk.call("download_file", filepath=u))) as tar:
        kinds = sorted("link" if m.islnk() else "file" for m in tar.getmembers() if not m.isdir())
    assert kinds == ["file", "link"]


@pytest.mark.timeout(60)
def test_a_directory_swapped_for_a_link_mid_operation_never_leads_outside(
        fk: FilesKernel, unique: str, secret_dir: Path) -> None:
    u = f"/home/work/race-{unique}"
    assert fk.sh(f"mkdir -p {u}/x && echo fine > {u}/x/secret.txt")[0] == 0
    before = tree_state(secret_dir)
    flip = (f"cd {u} && end=$(( $(date +%s) + 10 )); while [ ! -e stop ] && [ $(date +%s) -lt $end ]; do "
            f"mv -T x x.p; ln -s {secret_dir} x; rm x; mv -T x.p x; done; touch stopped")
    fk.container.exec_run(["sh", "-c", flip], user="1000:1000", detach=True)
    seen: set[str] = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for op, kw in (("download_single", {"filepath": f"{u}/x/secret.txt"}),
                       ("download_file", {"filepath": f"{u}/x"}),
                       ("list_files", {"path": f"{u}/x"}),
                       ("accept_file", {"filename": f"{u}/x/up.txt", "filedata": b"up"})):
            try:
                result = fk.call(op, **kw)
            except (PermissionError, RuntimeError) as e:
                seen.add(type(e).__name__)
                continue
            seen.add(op)
            assert SECRET not in (result if isinstance(result, bytes) else json.dumps(result).encode())
    fk.sh(f"touch {u}/stop")
    stopped = time.monotonic() + 15
    while fk.sh(f"test -e {u}/stopped")[0] != 0 and time.monotonic() < stopped:
        time.sleep(0.1)  # the flipper must be done before the work dir is looked at again
    assert tree_state(secret_dir) == before
    assert seen - {"PermissionError", "RuntimeError"}  # the race was run, not refused every time


PARTS = st.sampled_from(["..", ".", "", "etc", "passwd", "dir", "file", "up", "root", "pipe", "x", "home",
                         "work", "secret.txt", "tmp", "ü", "a b", "-"])
PATHS = st.builds(lambda lead, parts: lead + "/".join(parts),
                  st.sampled_from(["", "/", "/home/work/", "/home/work/fz/", "/home/work/../"]),
                  st.lists(PARTS, max_size=5))


def test_fuzzed_paths_through_the_agent_never_touch_anything_outside(
        fk: FilesKernel, secret_dir: Path) -> None:
    rc, out = fk.sh(f"mkdir -p /home/work/fz && cd /home/work/fz && ln -s {secret_dir} dir && "
                    f"ln -s {secret_dir}/secret.txt file && ln -s .. up && ln -s / root && mkfifo pipe")
    assert rc == 0, out
    watched = [secret_dir, fk.record.scratch_dir / "config"]
    before = [tree_state(d) for d in watched]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(path=PATHS)
    def check(path: str) -> None:
        for op, kw in (("accept_file", {"filename": path, "filedata": b"fuzz"}),
                       ("download_file", {"filepath": path}), ("download_single", {"filepath": path}),
                       ("list_files", {"path": path})):
            try:
                result = fk.client.call(op, kernel_id=fk.kernel_id, wait=20, **kw)
            except (PermissionError, ValueError, RuntimeError):
                continue
            assert SECRET not in (result if isinstance(result, bytes) else json.dumps(result).encode())

    check()
    assert [tree_state(d) for d in watched] == before
