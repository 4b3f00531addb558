"""Images made for image tests: tiny imported ones, runnable ones, ones pushed to the registry."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import uuid
from collections.abc import Callable, Iterator

import docker
import pytest
from docker.errors import NotFound

from contract.image_reference import parse_reference
from tests.support.docker_cleanup import TEST_LABEL
from tests.support.images import MakeImage
from tests.support.registry import PASSWORD, USERNAME, LocalRegistry


def _tar_with(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def make_image(docker_client: docker.DockerClient) -> MakeImage:
    """`make_image("repo:tag", size=0)`: a unique, labelled, non-runnable image (a file of `size`
    random bytes) imported from a tar; returns its id."""

    def make(ref: str, size: int = 0) -> str:
        parsed = parse_reference(ref)
        data = _tar_with({"id": uuid.uuid4().bytes, "blob": os.urandom(size)})
        docker_client.api.import_image_from_data(
            data, repository=parsed.repository, tag=parsed.tag or "latest", changes=[f"LABEL {TEST_LABEL}=1"]
        )
        return str(docker_client.images.get(ref).id)

    return make


@pytest.fixture
def make_runnable_image(docker_client: docker.DockerClient, kernel_image: str) -> MakeImage:
    """`make_runnable_image("repo:tag")`: the kernel image with a unique label (so its own id)."""

    def make(ref: str) -> str:
        dockerfile = f"FROM {kernel_image}\nLABEL {TEST_LABEL}=1 test.unique={uuid.uuid4().hex}\n"
        image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=ref, rm=True)
        return str(image.id)

    return make


@pytest.fixture
def run_container(
    docker_client: docker.DockerClient,
) -> Iterator[Callable[[str], docker.models.containers.Container]]:
    """`run_container(image)`: a running, labelled container of `image`, removed afterwards."""
    made: list[docker.models.containers.Container] = []

    def run(image: str) -> docker.models.containers.Container:
        c = docker_client.containers.run(image, ["sleep", "300"], detach=True, labels={TEST_LABEL: "1"})
        made.append(c)
        return c

    yield run
    for c in made:
        with contextlib.suppress(NotFound):
            c.remove(force=True)


@pytest.fixture
def pushed_image(
    docker_client: docker.DockerClient, registry: LocalRegistry, make_image: MakeImage, unique: str
) -> Iterator[tuple[str, str]]:
    """An image in the registry and not on the host: (repository path in the registry, image id)."""
    path, tag = f"test/pull-{unique}", "v1"
    canonical = f"{registry.host}/{path}:{tag}"
    image_id = make_image(canonical, size=256 << 10)
    out = list(
        docker_client.api.push(
            f"{registry.host}/{path}",
            tag,
            stream=True,
            decode=True,
            auth_config={"username": USERNAME, "password": PASSWORD},
        )
    )
    assert not [m for m in out if "error" in m], out
    docker_client.images.remove(canonical)
    yield path, image_id
    for img in docker_client.images.list(filters={"label": TEST_LABEL}):
        if img.id == image_id:
            docker_client.images.remove(img.id, force=True)
