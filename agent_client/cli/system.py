"""`agentctl ping|hwinfo|network`: the small operations of the agent itself."""

from __future__ import annotations

import argparse
from typing import Any

from agent_client.client import AgentClient


def cmd_ping(c: AgentClient, a: argparse.Namespace) -> None:
    reply = c.ping(a.msg)
    a.out.result({"agent": c.agent_id, "reply": reply}, reply)


def cmd_hwinfo(c: AgentClient, a: argparse.Namespace) -> None:
    a.out.result(c.gather_hwinfo())


def cmd_network(c: AgentClient, a: argparse.Namespace) -> None:
    (c.create_local_network if a.action == "create" else c.destroy_local_network)(a.name)
    a.out.result({"network": a.name, "action": a.action}, f"network {a.name} {a.action}d")


def add_system_commands(sub: Any) -> None:
    sp = sub.add_parser("ping", help="round trip a message through the agent")
    sp.add_argument("msg")
    sp.set_defaults(handler=cmd_ping)
    sub.add_parser("hwinfo", help="hardware metadata of the host").set_defaults(handler=cmd_hwinfo)
    net = sub.add_parser("network", help="session bridge networks")
    net.add_argument("action", choices=["create", "destroy"])
    net.add_argument("name")
    net.set_defaults(handler=cmd_network)
