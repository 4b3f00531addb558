"""purge_images: every scenario of the spec, against real Docker images and containers."""

from __future__ import annotations

import docker
import pytest

from agent_client.client import AgentClient
from tests.support.images import MakeImage
from tests.support.local_images import local_image_id


def purge(client: AgentClient, images: list[str], force: bool = False) -> list[dict[str, object]]:
    resp = client.call("purge_images", request={"image_canonicals": images, "force": force, "noprune": False})
    return list(resp["responses"])


def test_purge_removes_a_single_image(
    client: AgentClient, docker_client: docker.DockerClient, make_image: MakeImage, unique: str
) -> None:
    ref = f"image-to-delete-{unique}:v1"
    make_image(ref)
    assert purge(client, [ref]) == [{"image": ref, "error": None}]
    assert local_image_id(docker_client, ref) is None


def test_purge_removes_several_images(
    client: AgentClient, docker_client: docker.DockerClient, make_image: MakeImage, unique: str
) -> None:
    refs = [f"image-a-{unique}:latest", f"image-b-{unique}:1.0"]
    for ref in refs:
        make_image(ref)
    assert purge(client, refs) == [{"image": r, "error": None} for r in refs]
    assert not any(local_image_id(docker_client, r) is not None for r in refs)


def test_purge_reports_a_missing_image(
    client: AgentClient, docker_client: docker.DockerClient, unique: str
) -> None:
    ref = f"ghost-image-{unique}:v0"
    [resp] = purge(client, [ref])
    assert resp["image"] == ref and "No such image" in str(resp["error"])
    assert local_image_id(docker_client, ref) is None


def test_purge_without_force_refuses_an_image_a_running_container_uses(
    client: AgentClient,
    docker_client: docker.DockerClient,
    make_runnable_image: MakeImage,
    run_container: object,
    unique: str,
) -> None:
    ref = f"busy-image-{unique}:stable"
    make_runnable_image(ref)
    container = run_container(ref)  # type: ignore[operator]
    [resp] = purge(client, [ref])
    assert resp["image"] == ref and "conflict" in str(resp["error"]) and "must force" in str(resp["error"])
    assert local_image_id(docker_client, ref) is not None
    container.reload()
    assert container.status == "running"


def test_force_purge_removes_the_name_and_the_container_keeps_running(
    client: AgentClient,
    docker_client: docker.DockerClient,
    make_runnable_image: MakeImage,
    run_container: object,
    unique: str,
) -> None:
    ref = f"busy-image-{unique}:force-delete"
    image_id = make_runnable_image(ref)
    container = run_container(ref)  # type: ignore[operator]
    assert purge(client, [ref], force=True) == [{"image": ref, "error": None}]
    assert local_image_id(docker_client, ref) is None
    container.reload()
    assert container.status == "running"
    # Docker keeps the content (untagged) while the container runs: nothing is pulled from under it.
    assert docker_client.images.get(image_id).tags == []


def test_purge_of_a_mix_reports_each_image(
    client: AgentClient,
    docker_client: docker.DockerClient,
    make_image: MakeImage,
    make_runnable_image: MakeImage,
    run_container: object,
    unique: str,
) -> None:
    ok, ghost, busy = f"delete-me-{unique}:ok", f"iamghost-{unique}:hmm", f"dont-delete-me-{unique}:busy"
    make_image(ok)
    make_runnable_image(busy)
    run_container(busy)  # type: ignore[operator]
    responses = purge(client, [ok, ghost, busy])
    assert [r["image"] for r in responses] == [ok, ghost, busy]
    assert responses[0]["error"] is None
    assert responses[1]["error"] and responses[2]["error"]
    assert local_image_id(docker_client, ok) is None
    assert local_image_id(docker_client, busy) is not None


@pytest.mark.parametrize("images", [[], ["UPPER:case"], ["../etc:x"], ["a:b:c"]])
def test_purge_refuses_bad_input_and_removes_nothing(
    client: AgentClient,
    docker_client: docker.DockerClient,
    make_image: MakeImage,
    unique: str,
    images: list[str],
) -> None:
    bystander = f"bystander-{unique}:v1"
    make_image(bystander)
    with pytest.raises(ValueError, match="image_canonicals"):
        purge(client, images)
    assert local_image_id(docker_client, bystander) is not None
