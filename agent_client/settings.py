"""What `agentctl` needs to know to reach a host: from `AGENT_*` variables, else the host's
agent.toml (so on an agent's own host it finds that agent with no flags), else defaults."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from contract.config_file import read_config_file
from contract.naming import DEFAULT_EVENTS_STREAM, DEFAULT_REDIS_URL


@dataclass(frozen=True)
class ClientSettings:
    agent_id: str
    redis_url: str
    events_stream: str
    task_expires: float


def load_client_settings() -> ClientSettings:
    from_file = read_config_file()

    def setting(name: str, default: Any) -> Any:
        return os.environ.get(f"AGENT_{name.upper()}") or from_file.get(name) or default

    return ClientSettings(
        agent_id=str(setting("id", socket.gethostname())),
        redis_url=str(setting("redis_url", DEFAULT_REDIS_URL)),
        events_stream=str(setting("events_stream", DEFAULT_EVENTS_STREAM)),
        task_expires=float(setting("task_expires", 600.0)),
    )
