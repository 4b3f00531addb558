"""`agentctl agents`: the live agents of the Redis (id, scaling group, kernels, last heartbeat)."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import Any

from agent_client.agents import AgentStatus, live_agents
from agent_client.client import AgentClient
from agent_client.redis_clients import redis_client


def agents_table(agents: list[AgentStatus], now: float) -> str:
    rows = [("ID", "SCALING GROUP", "KERNELS", "LAST HEARTBEAT")]
    for s in agents:
        beat = f"{now - s.last_heartbeat:.0f} s ago" if s.last_heartbeat is not None else "-"
        rows.append((s.id, s.scaling_group or "-", "-" if s.kernels is None else str(s.kernels), beat))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows)


def cmd_agents(c: AgentClient, a: argparse.Namespace) -> None:
    r = redis_client(a.redis_url)
    try:
        agents = live_agents(r, a.events_stream)
    finally:
        r.close()
    a.out.result([asdict(s) for s in agents], agents_table(agents, time.time()) if agents else "no live agent")


def add_agents_command(sub: Any) -> None:
    sub.add_parser("agents", help="the live agents of the Redis, from their heartbeats").set_defaults(
        handler=cmd_agents)
