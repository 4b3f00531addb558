"""commit and get_commit_status on a real kernel: images, exports, the lock file, bad input."""

from __future__ import annotations

import gzip
import tarfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import APIError

from agent_client.client import AgentClient
from tests.support.local_images import local_image_id
from worker.config import AgentSettings
from worker.images import export

TEST_LABELS = {"agent.test": "1"}


def commit(client: AgentClient, kernel_id: str, subdir: str, **kw: Any) -> Any:
    return client.call("commit", kernel_id=kernel_id, subdir=subdir, wait=180, **kw)


def status(client: AgentClient, kernel_id: str, subdir: str) -> str:
    return str(client.call("get_commit_status", kernel_id=kernel_id, subdir=subdir))


class DirWatch:
    """Polls a commit subdir every 10 ms: when the lock file existed, and the most `.partial`
    exports seen at once (two would mean two exports ran side by side)."""

    def __init__(self, directory: Path, kernel_id: str) -> None:
        self.directory, self.lock = directory, directory / "lock" / kernel_id
        self.lock_seen = False
        self.max_partials = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.lock_seen = self.lock_seen or self.lock.exists()
            if self.directory.is_dir():
                partials = [p for p in self.directory.iterdir() if p.name.endswith(".partial")]
                self.max_partials = max(self.max_partials, len(partials))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_commit_without_export_keeps_a_labelled_image(
    client: AgentClient, docker_client: docker.DockerClient, kernel: Any, settings: AgentSettings, unique: str
) -> None:
    subdir = f"test_commit_no_export_{unique}"
    labels = {"author": "test_user", "version": "1.0", "note": 'a "quoted" value', **TEST_LABELS}
    assert (
        commit(client, kernel.kernel_id, subdir, canonical=f"myimage-{unique}", extra_labels=labels) is None
    )
    image = docker_client.images.get(f"myimage-{unique}:latest")
    assert {k: image.labels[k] for k in labels} == labels
    base = settings.commit_dir / subdir
    assert (base / "lock").is_dir() and list((base / "lock").iterdir()) == []
    assert [p.name for p in base.iterdir()] == ["lock"]  # no tarball
    assert status(client, kernel.kernel_id, subdir) == "ready"


def test_commit_with_export_writes_a_gzipped_tarball_and_deletes_the_image(
    client: AgentClient, docker_client: docker.DockerClient, kernel: Any, settings: AgentSettings, unique: str
) -> None:
    subdir = f"test_commit_with_export_{unique}"
    canonical = f"myimage-{unique}:exported_commit"
    watch = DirWatch(settings.commit_dir / subdir, kernel.kernel_id)
    try:
        commit(
            client,
            kernel.kernel_id,
            subdir,
            canonical=canonical,
            filename="exported_image",
            extra_labels={"status": "exported", **TEST_LABELS},
        )
    finally:
        watch.stop()
    assert watch.lock_seen
    exported = settings.commit_dir / subdir / "exported_image"
    with gzip.open(exported) as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
        assert "manifest.json" in [m.name for m in tar]
    assert local_image_id(docker_client, canonical) is None
    assert not (settings.commit_dir / subdir / "lock" / kernel.kernel_id).exists()


def test_commit_without_canonical_makes_an_untagged_image(
    client: AgentClient, docker_client: docker.DockerClient, kernel: Any, settings: AgentSettings, unique: str
) -> None:
    subdir = f"test_commit_no_canonical_{unique}"
    before = {i.id for i in docker_client.images.list(filters={"dangling": True})}
    commit(client, kernel.kernel_id, subdir, extra_labels={})
    new = [i for i in docker_client.images.list(filters={"dangling": True}) if i.id not in before]
    try:
        assert len(new) == 1 and new[0].tags == []
        assert new[0].attrs["Container"] == kernel.container_id
        assert [p.name for p in (settings.commit_dir / subdir).iterdir()] == ["lock"]
        assert list((settings.commit_dir / subdir / "lock").iterdir()) == []
    finally:
        for image in new:
            docker_client.images.remove(image.id, force=True)


def test_commit_of_an_unknown_kernel_raises_key_error_and_writes_nothing(
    client: AgentClient, docker_client: docker.DockerClient, settings: AgentSettings, unique: str
) -> None:
    subdir = f"test_commit_invalid_kernel_{unique}"
    kernel_id = str(uuid.uuid4())
    with pytest.raises(KeyError, match=kernel_id):
        commit(client, kernel_id, subdir, canonical=f"myimage-{unique}:fail_commit")
    with pytest.raises(KeyError, match=kernel_id):
        status(client, kernel_id, subdir)
    assert local_image_id(docker_client, f"myimage-{unique}:fail_commit") is None
    assert not (settings.commit_dir / subdir).exists()


def test_concurrent_commits_of_one_kernel_and_subdir_run_one_after_the_other(
    client: AgentClient, docker_client: docker.DockerClient, kernel: Any, settings: AgentSettings, unique: str
) -> None:
    subdir = f"subdir_x_{unique}"
    watch = DirWatch(settings.commit_dir / subdir, kernel.kernel_id)
    calls = [
        client.send(
            "commit",
            kernel_id=kernel.kernel_id,
            subdir=subdir,
            canonical=f"img{n}-{unique}:tag{n}",
            filename=f"f{n}.tar.gz",
            extra_labels=TEST_LABELS,
        )
        for n in (1, 2)
    ]
    seen_ongoing = False
    while not all(c.ready() for c in calls):
        seen_ongoing = seen_ongoing or status(client, kernel.kernel_id, subdir) == "ongoing"
        time.sleep(0.05)
    watch.stop()
    assert [c.get(timeout=1) for c in calls] == [None, None]
    assert seen_ongoing and watch.lock_seen
    assert watch.max_partials == 1  # the two exports never overlapped
    for n in (1, 2):
        assert (settings.commit_dir / subdir / f"f{n}.tar.gz").stat().st_size > 0
        assert local_image_id(docker_client, f"img{n}-{unique}:tag{n}") is None
    assert status(client, kernel.kernel_id, subdir) == "ready"
    assert not (settings.commit_dir / subdir / "lock" / kernel.kernel_id).exists()


def test_failed_export_leaves_no_file_no_image_and_no_lock(
    client: AgentClient,
    docker_client: docker.DockerClient,
    kernel: Any,
    settings: AgentSettings,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_chunks = export.image_chunks

    def broken_chunks(
        api: docker.APIClient, image_id: str
    ) -> Any:  # fault injection: Docker fails mid-stream
        chunks = real_chunks(api, image_id)
        yield next(chunks)
        raise APIError("injected: the image stream broke")

    monkeypatch.setattr(export, "image_chunks", broken_chunks)
    subdir, canonical = f"test_commit_export_fails_{unique}", f"myimage-{unique}:broken"
    with pytest.raises(RuntimeError, match="injected"):
        commit(
            client,
            kernel.kernel_id,
            subdir,
            canonical=canonical,
            filename="out.tar.gz",
            extra_labels=TEST_LABELS,
        )
    assert [p.name for p in (settings.commit_dir / subdir).iterdir()] == ["lock"]
    assert list((settings.commit_dir / subdir / "lock").iterdir()) == []
    assert local_image_id(docker_client, canonical) is None
    assert status(client, kernel.kernel_id, subdir) == "ready"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subdir", "../escape"),
        ("subdir", "/abs"),
        ("subdir", "a/../../b"),
        ("filename", "../f.tar.gz"),
        ("filename", "a/b"),
        ("filename", "lock"),
        ("canonical", "img@sha256:" + "a" * 64),
        ("canonical", "Bad:x"),
    ],
)
def test_commit_refuses_bad_input_and_writes_nothing(
    client: AgentClient, kernel: Any, settings: AgentSettings, unique: str, field: str, value: str
) -> None:
    kw: dict[str, Any] = {"subdir": f"bad_input_{unique}", "canonical": f"img-{unique}", field: value}
    with pytest.raises(ValueError, match=field if field != "filename" or value != "lock" else "lock"):
        commit(client, kernel.kernel_id, **kw)
    assert not (settings.commit_dir / f"bad_input_{unique}").exists()
    assert not (settings.commit_dir.parent / "escape").exists()


def test_commit_refuses_a_subdir_symlinked_out_of_the_commit_path(
    client: AgentClient, kernel: Any, settings: AgentSettings, tmp_path: Path, unique: str
) -> None:
    settings.commit_dir.mkdir(parents=True, exist_ok=True)
    (settings.commit_dir / f"link_{unique}").symlink_to(tmp_path)
    with pytest.raises(PermissionError, match="outside the commit path"):
        commit(client, kernel.kernel_id, f"link_{unique}", filename="f.tar.gz")
    assert list(tmp_path.iterdir()) == []
