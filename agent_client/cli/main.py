"""`agentctl`: drive one host's agent from a shell (AGENT_ID and AGENT_REDIS_URL pick the host)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import redis

from agent_client.cli.execution import add_execution_commands
from agent_client.cli.files import add_file_commands
from agent_client.cli.images import add_image_commands
from agent_client.cli.kernels import add_kernel_create_command
from agent_client.cli.lifecycle import add_lifecycle_commands
from agent_client.cli.pipeline import add_pipeline_commands
from agent_client.client import AgentClient
from agent_client.events import StreamCursor, parse_entries
from agent_client.settings import load_client_settings

Handler = Callable[[AgentClient, argparse.Namespace], Any]


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def cmd_ping(c: AgentClient, a: argparse.Namespace) -> None:
    print(c.ping(a.msg))


def cmd_hwinfo(c: AgentClient, a: argparse.Namespace) -> None:
    _print_json(c.gather_hwinfo())


def cmd_network(c: AgentClient, a: argparse.Namespace) -> None:
    (c.create_local_network if a.action == "create" else c.destroy_local_network)(a.name)
    print(f"network {a.name} {a.action}d")


def cmd_events_tail(c: AgentClient, a: argparse.Namespace) -> None:
    r = redis.Redis.from_url(a.redis_url)
    if not a.follow:
        for event in reversed(parse_entries(r.xrevrange(a.events_stream, count=a.count))):
            _show_event(event)
        return
    for event in StreamCursor(r, a.events_stream).follow():
        _show_event(event)


def _show_event(e: Any) -> None:
    stamp = time.strftime("%H:%M:%S", time.localtime(int(e.entry_id.split("-")[0]) / 1000))
    print(f"{stamp} {e.source:<16} {e.name:<24} {json.dumps(e.payload, sort_keys=True)}")


def build_parser() -> argparse.ArgumentParser:
    s = load_client_settings()
    p = argparse.ArgumentParser(prog="agentctl", description=__doc__)
    p.set_defaults(events_stream=s.events_stream)
    p.add_argument("--agent", default=s.agent_id, help="agent id of the host (default: AGENT_ID or hostname)")
    p.add_argument("--redis-url", default=s.redis_url, help="broker/results/events Redis URL")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a result")
    p.add_argument("--expires", type=float, default=s.task_expires,
                   help="seconds after which a task nobody took is dropped (default: AGENT_TASK_EXPIRES)")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("ping", help="round trip a message through the agent")
    sp.add_argument("msg")
    sp.set_defaults(handler=cmd_ping)
    sub.add_parser("hwinfo", help="hardware metadata of the host").set_defaults(handler=cmd_hwinfo)

    net = sub.add_parser("network", help="session bridge networks")
    net.add_argument("action", choices=["create", "destroy"])
    net.add_argument("name")
    net.set_defaults(handler=cmd_network)

    kern = sub.add_parser("kernel", help="a kernel: run code, logs, completions, files")
    kernel_sub = kern.add_subparsers(dest="kernel_command", required=True)
    add_kernel_create_command(kernel_sub)
    add_file_commands(kernel_sub)
    add_execution_commands(kernel_sub)
    add_lifecycle_commands(kernel_sub)

    ev = sub.add_parser("events", help="domain events in the stream")
    ev_sub = ev.add_subparsers(dest="events_command", required=True)
    tail = ev_sub.add_parser("tail", help="the latest events (-f to follow)")
    tail.add_argument("-f", "--follow", action="store_true")
    tail.add_argument("-n", "--count", type=int, default=20)
    tail.set_defaults(handler=cmd_events_tail)
    add_image_commands(sub)
    add_pipeline_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    client = AgentClient(args.agent, args.redis_url, expires=args.expires, default_timeout=args.timeout)
    try:
        args.handler(client, args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a person reads this: the type and the message, no traceback
        print(f"agentctl: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
