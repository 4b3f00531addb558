"""ping, gather_hwinfo, update_scaling_group and the events of the agent's own life."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_client.client import AgentClient
from contract.config_file import config_path
from worker.config import AgentSettings
from worker.runtime import host


def test_ping_echoes_the_message(client: AgentClient) -> None:
    assert client.ping("hello") == "hello"


def test_ping_rejects_a_non_string_message_naming_the_field(client: AgentClient) -> None:
    with pytest.raises(ValueError, match="msg"):
        client.call("ping", msg=123)


def test_unknown_arguments_are_refused(client: AgentClient) -> None:
    with pytest.raises(ValueError, match="surprise"):
        client.call("ping", msg="x", surprise=1)


def test_gather_hwinfo_reports_cpu_and_memory_without_a_gpu(client: AgentClient) -> None:
    info = client.gather_hwinfo()
    assert info["cpu"]["status"] == "healthy"
    assert int(info["cpu"]["metadata"]["cores"]) >= 1
    assert int(info["mem"]["metadata"]["total_bytes"]) > 0
    for entry in info.values():
        assert entry["status"] in {"healthy", "degraded", "offline", "unavailable"}


def test_update_scaling_group_rewrites_the_toml_keeping_comments_and_a_backup(
        client: AgentClient, settings: AgentSettings) -> None:
    path = config_path()
    original = ('# the host\n[agent]\n# which group\nscaling-group = "default"  # keep me\n\n'
                '[container]\nkernel-uid = 1000\n')
    path.write_text(original)
    try:
        client.update_scaling_group("gpu-pool")
        text = path.read_text()
        assert 'scaling-group = "gpu-pool"' in text
        assert "# which group" in text and "# the host" in text and "kernel-uid = 1000" in text
        assert Path(str(path) + ".bak").read_text() == original
        assert host().settings.scaling_group == "gpu-pool"
    finally:
        host().settings.scaling_group = "default"
        path.unlink(missing_ok=True)
        Path(str(path) + ".bak").unlink(missing_ok=True)


@pytest.mark.parametrize("bad", ["", "   ", None, 5, "a/b"])
def test_update_scaling_group_rejects_bad_names_and_leaves_the_file_untouched(
        client: AgentClient, bad: object) -> None:
    path = config_path()
    path.write_text('[agent]\nscaling-group = "default"\n')
    try:
        with pytest.raises(ValueError, match="scaling_group"):
            client.call("update_scaling_group", scaling_group=bad)
        assert path.read_text() == '[agent]\nscaling-group = "default"\n'
        assert not Path(str(path) + ".bak").exists()
    finally:
        path.unlink(missing_ok=True)


def test_heartbeat_and_started_events_are_in_the_stream(client: AgentClient, redis_url: str,
                                                        settings: AgentSettings) -> None:
    import redis

    from agent_client.events import read_all

    names = {e.name for e in read_all(redis.Redis.from_url(redis_url)) if e.source == settings.id}
    assert {"agent_started", "agent_heartbeat"} <= names
