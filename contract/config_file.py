"""agent.toml: where it is and how its sections map to flat setting names.

Shared by the agent's settings and by `agentctl` on the same host (which reads the agent id and
the Redis URL from it). The sections only group keys for people: `[agent] scaling-group = "x"`
is the setting `scaling_group`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = Path("agent.toml")
SECTIONS = frozenset({"agent", "redis", "worker", "container", "resource", "files", "execution", "metrics"})


def config_path() -> Path:
    """The agent.toml in use: `AGENT_CONFIG`, else ./agent.toml."""
    return Path(os.environ.get("AGENT_CONFIG", DEFAULT_CONFIG_PATH)).resolve()


def flatten_toml(doc: dict[str, Any]) -> dict[str, Any]:
    """`{"agent": {"scaling-group": "x"}}` -> `{"scaling_group": "x"}` (sections only group keys)."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict) and key in SECTIONS:
            flat.update({k.replace("-", "_"): v for k, v in value.items()})
        else:
            flat[key.replace("-", "_")] = value
    return flat


def read_config_file() -> dict[str, Any]:
    """The settings agent.toml holds, flattened; a missing file holds none."""
    path = config_path()
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        return flatten_toml(tomllib.load(f))
