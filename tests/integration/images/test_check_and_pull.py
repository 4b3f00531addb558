"""check_and_pull: background pulls from a real registry, their events, and shared pulls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest
import redis
from celery.result import AsyncResult

from agent_client.client import AgentClient
from agent_client.images import check_and_pull
from tests.integration.conftest import EventLog
from tests.support.images import MakeImage, registry_conf
from tests.support.local_images import local_image_id
from tests.support.registry import PASSWORD, LocalRegistry
from tests.support.slow_proxy import SlowProxy
from worker.config import AgentSettings


def config(canonical: str, registry: LocalRegistry, **extra: Any) -> dict[str, Any]:
    return {"canonical": canonical, "registry": registry_conf(registry), **extra}


def pull(client: AgentClient, configs: dict[str, dict[str, Any]]) -> dict[str, AsyncResult]:
    ids = check_and_pull(client, configs)
    assert set(ids) == set(configs)
    return {name: AsyncResult(tid, app=client.app) for name, tid in ids.items()}


def image_events(events: EventLog, image: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.name, e.payload)
        for e in events.since()
        if e.name.startswith("image_pull") and e.payload.get("image") == image
    ]


def test_pull_of_a_missing_image_fetches_it_and_reports_progress(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    events: EventLog,
    settings: AgentSettings,
) -> None:
    path, image_id = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    result = pull(client, {canonical: config(canonical, registry, digest=image_id)})[canonical]
    assert result.get(timeout=60) is True
    assert local_image_id(docker_client, canonical) == image_id
    names = [n for n, _ in image_events(events, canonical)]
    assert names[0] == "image_pull_started" and names[-1] == "image_pull_finished"
    progress = [p for n, p in image_events(events, canonical) if n == "image_pull_progress"]
    assert progress and progress[-1]["layers_done"] == progress[-1]["layers_total"] >= 1
    assert progress[-1]["current_bytes"] == progress[-1]["total_bytes"] > 0
    assert all(p["agent_id"] == settings.id for _, p in image_events(events, canonical))
    # The registry password is masked in what the result backend keeps of the background pull.
    assert PASSWORD not in repr(client.app.backend.get_task_meta(result.id))


def test_image_with_the_configured_digest_is_not_pulled_again(
    client: AgentClient, registry: LocalRegistry, make_image: MakeImage, events: EventLog, unique: str
) -> None:
    canonical = f"{registry.host}/test/present-{unique}:v1"
    image_id = make_image(canonical)
    assert pull(client, {canonical: config(canonical, registry, digest=image_id)})[canonical].get(30) is False
    [(name, payload)] = image_events(events, canonical)
    assert name == "image_pull_finished" and payload["msg"] == "Image already exists"


def test_digest_mode_pulls_when_the_local_image_differs(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    make_image: MakeImage,
    events: EventLog,
) -> None:
    path, image_id = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    stale = make_image(canonical)  # same name, other content
    assert pull(client, {canonical: config(canonical, registry, digest=image_id)})[canonical].get(60) is True
    assert local_image_id(docker_client, canonical) == image_id != stale


def test_tag_mode_keeps_a_present_image(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    make_image: MakeImage,
    events: EventLog,
) -> None:
    path, image_id = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    present = make_image(canonical)
    cfg = config(canonical, registry, digest=image_id, auto_pull="tag")
    assert pull(client, {canonical: cfg})[canonical].get(30) is False
    assert local_image_id(docker_client, canonical) == present
    assert [n for n, _ in image_events(events, canonical)] == ["image_pull_finished"]


def test_none_mode_fails_for_a_missing_image(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    events: EventLog,
) -> None:
    path, _ = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    with pytest.raises(RuntimeError, match="auto_pull is 'none'"):
        pull(client, {canonical: config(canonical, registry, auto_pull="none")})[canonical].get(30)
    assert local_image_id(docker_client, canonical) is None
    assert [n for n, _ in image_events(events, canonical)] == ["image_pull_failed"]


def test_pull_with_a_wrong_password_fails_and_leaves_nothing(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    events: EventLog,
) -> None:
    path, _ = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    cfg = {"canonical": canonical, "registry": registry_conf(registry, password="wrong")}
    with pytest.raises(RuntimeError, match=r"unauthorized|denied|authentication"):
        pull(client, {canonical: cfg})[canonical].get(30)
    assert local_image_id(docker_client, canonical) is None
    assert [n for n, _ in image_events(events, canonical)] == ["image_pull_started", "image_pull_failed"]


@pytest.fixture
def slow_link(registry: LocalRegistry) -> Iterator[SlowProxy]:
    proxy = SlowProxy(registry.port, rate=256 << 10)
    yield proxy
    proxy.close()


@pytest.fixture
def big_pushed_image(
    docker_client: docker.DockerClient, registry: LocalRegistry, make_image: MakeImage, unique: str
) -> str:
    """A 1 MiB image (about 4 s over the slow link) in the registry, not on the host."""
    path = f"test/big-{unique}"
    make_image(f"{registry.host}/{path}:v1", size=1 << 20)
    out = docker_client.images.push(f"{registry.host}/{path}", "v1", auth_config=registry_conf(registry))
    assert "error" not in out
    docker_client.images.remove(f"{registry.host}/{path}:v1")
    return path


def test_pull_past_its_timeout_fails_and_leaves_nothing(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    slow_link: SlowProxy,
    big_pushed_image: str,
    events: EventLog,
    settings: AgentSettings,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    monkeypatch.setattr(settings, "image_pull_timeout", 1.0)
    canonical = f"{slow_link.host}/{big_pushed_image}:v1"
    with pytest.raises(RuntimeError, match=r"timeout \(s:1\)"):
        pull(client, {canonical: config(canonical, registry)})[canonical].get(30)
    failed = [p for n, p in image_events(events, canonical) if n == "image_pull_failed"]
    assert failed and failed[0]["msg"] == "timeout (s:1)"
    assert local_image_id(docker_client, canonical) is None
    # The shared-pull key went with the pull: the next request starts afresh.
    assert redis.Redis.from_url(redis_url).exists(f"agent.{settings.id}.pulling.{canonical}") == 0


def test_concurrent_requests_for_one_image_share_one_pull(
    client: AgentClient,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    slow_link: SlowProxy,
    big_pushed_image: str,
    events: EventLog,
) -> None:
    canonical = f"{slow_link.host}/{big_pushed_image}:v1"
    first = pull(client, {canonical: config(canonical, registry)})[canonical]
    second = pull(client, {canonical: config(canonical, registry)})[canonical]
    assert first.id == second.id
    assert first.get(timeout=60) is True
    assert local_image_id(docker_client, canonical) is not None
    names = [n for n, _ in image_events(events, canonical)]
    assert names.count("image_pull_started") == 1 and names.count("image_pull_finished") == 1
    assert names.count("image_pull_progress") >= 2  # several throttled updates over the slow link
    # Once it ended, a new request starts a new (here: nothing to do) pull.
    third = pull(client, {canonical: config(canonical, registry)})[canonical]
    assert third.id != first.id and third.get(timeout=30) is False


@pytest.mark.parametrize("name", ["Upper/Case:1", "a:b:c", "x@sha256:zz"])
def test_check_and_pull_refuses_invalid_references(
    client: AgentClient, registry: LocalRegistry, name: str
) -> None:
    with pytest.raises(ValueError, match="image_configs"):
        client.call("check_and_pull", image_configs={name: config(name, registry)})
