"""AgentSettings: agent.toml sections, AGENT_* variables, precedence, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from worker.config import AgentSettings, load_settings


@pytest.fixture
def toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agent.toml"
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    for var in ("AGENT_ID", "AGENT_SCALING_GROUP", "AGENT_PORT_RANGE", "AGENT_KERNEL_UID"):
        monkeypatch.delenv(var, raising=False)
    return path


def test_toml_sections_only_group_keys_and_dashes_become_underscores(toml: Path) -> None:
    toml.write_text('[agent]\nid = "gpu-07"\nscaling-group = "a100"\n\n[container]\nkernel-uid = 2000\n'
                    'port-range = [40000, 40100]\n')
    s = load_settings()
    assert (s.id, s.scaling_group, s.kernel_uid, s.port_range) == ("gpu-07", "a100", 2000, (40000, 40100))
    assert s.queue == "agent.gpu-07" and s.worker_name == "agent@gpu-07"


def test_environment_wins_over_the_file_and_arguments_over_both(toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml.write_text('[agent]\nscaling-group = "from-file"\n')
    monkeypatch.setenv("AGENT_SCALING_GROUP", "from-env")
    assert load_settings().scaling_group == "from-env"
    assert load_settings(scaling_group="from-arg").scaling_group == "from-arg"


def test_no_file_means_defaults_that_work_on_a_fresh_machine(toml: Path) -> None:
    s = load_settings()
    assert s.scaling_group == "default" and s.kernel_creation_concurrency == 4 and s.scratch_dir.is_absolute()


@pytest.mark.parametrize("env, field", [
    ({"AGENT_PORT_RANGE": "[500, 400]"}, "port_range"),
    ({"AGENT_ID": "bad id with spaces"}, "id"),
    ({"AGENT_KERNEL_UID": "-1"}, "kernel_uid"),
])
def test_a_bad_value_names_its_field(toml: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                     field: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError, match=field):
        AgentSettings()


def test_a_redis_url_that_names_no_target_is_refused_without_showing_its_password(
        toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_REDIS_URL", "sentinel://:hunter2@10.0.0.1:26379/0")  # no master_name
    with pytest.raises(ValidationError) as e:
        load_settings()
    assert "redis_url" in str(e.value) and "master_name" in str(e.value)
    assert "hunter2" not in str(e.value)
