"""`agentctl events tail`: the latest domain events of the stream, or follow them as they come."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from agent_client.client import AgentClient
from agent_client.events import ReceivedEvent, StreamCursor, parse_entries
from agent_client.redis_clients import redis_client


def event_line(e: ReceivedEvent) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(int(e.entry_id.split("-")[0]) / 1000))
    return f"{stamp} {e.source:<16} {e.name:<24} {json.dumps(e.payload, sort_keys=True)}"


def cmd_events_tail(c: AgentClient, a: argparse.Namespace) -> None:
    r = redis_client(a.redis_url)
    try:
        if not a.follow:
            events = list(reversed(parse_entries(r.xrevrange(a.events_stream, count=a.count))))
            a.out.result([asdict(e) for e in events], "\n".join(event_line(e) for e in events))
            return
        for event in StreamCursor(r, a.events_stream).follow():  # one JSON line per event with --json
            a.out.record(asdict(event), event_line(event))
    finally:
        r.close()


def add_events_commands(sub: Any) -> None:
    ev = sub.add_parser("events", help="domain events in the stream")
    ev_sub = ev.add_subparsers(dest="events_command", required=True)
    tail = ev_sub.add_parser("tail", help="the latest events (-f to follow; with --json one line per event)")
    tail.add_argument("-f", "--follow", action="store_true")
    tail.add_argument("-n", "--count", type=int, default=20)
    tail.set_defaults(handler=cmd_events_tail)
