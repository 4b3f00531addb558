"""The live agents of a Redis as a manager sees them: each one's liveness key (set while its worker
runs) and its latest `agent_heartbeat` in the events stream (id, scaling group, kernels, when)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from agent_client.events import ReceivedEvent, parse_entries
from contract.naming import DEFAULT_EVENTS_STREAM, liveness_key, queue_name

_KEY_PREFIX, _KEY_SUFFIX = liveness_key("\0").split("\0")
HEARTBEAT = "agent_heartbeat"


@dataclass(frozen=True)
class AgentStatus:
    id: str
    queue: str
    scaling_group: str | None = None
    region: str | None = None
    kernels: int | None = None
    last_heartbeat: float | None = None  # Unix time of the latest heartbeat still in the stream


def live_agent_ids(client: redis.Redis) -> list[str]:
    """Agents whose worker is alive now (their liveness key exists)."""
    keys = (k.decode() if isinstance(k, bytes) else str(k) for k in client.scan_iter(match=liveness_key("*")))
    return sorted(k.removeprefix(_KEY_PREFIX).removesuffix(_KEY_SUFFIX) for k in keys)


def latest_heartbeats(client: redis.Redis, agent_ids: list[str], stream: str = DEFAULT_EVENTS_STREAM,
                      page: int = 500) -> dict[str, ReceivedEvent]:
    """The newest heartbeat of each agent, reading the stream backwards until each has one."""
    wanted, found = set(agent_ids), dict[str, ReceivedEvent]()
    end: str = "+"
    while wanted - found.keys():
        entries: Any = client.xrevrange(stream, max=end, count=page)
        events = parse_entries(entries)
        for e in events:
            if e.name == HEARTBEAT and e.source in wanted and e.source not in found:
                found[e.source] = e
        if len(events) < page:
            break
        end = f"({events[-1].entry_id}"  # exclusive: the page's oldest entry was read
    return found


def live_agents(client: redis.Redis, stream: str = DEFAULT_EVENTS_STREAM) -> list[AgentStatus]:
    ids = live_agent_ids(client)
    beats = latest_heartbeats(client, ids, stream)
    agents = []
    for agent_id in ids:
        beat = beats.get(agent_id)
        info: dict[str, Any] = beat.payload.get("agent_info", {}) if beat else {}
        agents.append(AgentStatus(
            id=agent_id, queue=str(info.get("queue") or queue_name(agent_id)), scaling_group=info.get("scaling_group"),
            region=info.get("region"), kernels=info.get("kernels"),
            last_heartbeat=float(beat.payload["timestamp"]) if beat else None))
    return agents
