"""`agentctl image ...` end to end: the pull progress bar, push, purge."""

from __future__ import annotations

import docker
import pytest

from agent_client.cli import main as cli
from tests.support.images import MakeImage
from tests.support.registry import PASSWORD, USERNAME, LocalRegistry
from worker.config import AgentSettings


def agentctl(settings: AgentSettings, redis_url: str, *args: str) -> int:
    return cli.main(["--agent", settings.id, "--redis-url", redis_url, "--timeout", "60", *args])


def test_agentctl_image_pull_shows_a_progress_bar(
    client: object,
    settings: AgentSettings,
    redis_url: str,
    registry: LocalRegistry,
    pushed_image: tuple[str, str],
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, image_id = pushed_image
    canonical = f"{registry.host}/{path}:v1"
    monkeypatch.setenv("AGENT_REGISTRY_PASSWORD", PASSWORD)
    assert agentctl(settings, redis_url, "image", "pull", canonical, "--username", USERNAME) == 0
    out, err = capsys.readouterr()
    assert "] 100%" in err and "layers 1/1" in err
    assert f"{canonical}: pulled" in out
    assert docker_client.images.get(canonical).id == image_id


def test_agentctl_image_push_and_purge(
    client: object,
    settings: AgentSettings,
    redis_url: str,
    registry: LocalRegistry,
    make_image: MakeImage,
    unique: str,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canonical = f"{registry.host}/proj/cli-{unique}:1"
    make_image(canonical)
    monkeypatch.setenv("AGENT_REGISTRY_PASSWORD", PASSWORD)
    assert agentctl(settings, redis_url, "image", "push", canonical, "--username", USERNAME) == 0
    assert registry.tags(f"proj/cli-{unique}") == ["1"]
    assert agentctl(settings, redis_url, "image", "purge", canonical) == 0
    assert '"error": null' in capsys.readouterr().out
    assert not docker_client.images.list(name=f"{registry.host}/proj/cli-{unique}")
