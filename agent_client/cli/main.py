"""`agentctl`: drive one host's agent from a shell (AGENT_ID and AGENT_REDIS_URL pick the host).

Every command takes `--json` (one JSON document on stdout, for scripts; no progress). A failure is
one line on stderr and exit status 1 (`--debug` adds the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from agent_client.cli.agents import add_agents_command
from agent_client.cli.errors import describe_error
from agent_client.cli.events import add_events_commands
from agent_client.cli.execution import add_execution_commands
from agent_client.cli.files import add_file_commands
from agent_client.cli.images import add_image_commands
from agent_client.cli.kernels import add_kernel_create_command
from agent_client.cli.lifecycle import add_lifecycle_commands
from agent_client.cli.output import Output
from agent_client.cli.pipeline import add_pipeline_commands
from agent_client.cli.system import add_system_commands
from agent_client.cli.tasks import add_task_commands
from agent_client.client import AgentClient
from agent_client.settings import load_client_settings


def add_json_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--json` on every subcommand (also given before the subcommand: `agentctl --json ...`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_json_everywhere(sub)
            return
    if "--json" not in parser._option_string_actions:
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                            help="the answer as JSON on stdout, for scripts (no progress)")


def build_parser() -> argparse.ArgumentParser:
    s = load_client_settings()
    p = argparse.ArgumentParser(prog="agentctl", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(events_stream=s.events_stream)
    p.add_argument("--agent", default=s.agent_id, help="agent id of the host (default: AGENT_ID or hostname)")
    p.add_argument("--redis-url", default=s.redis_url, help="broker/results/events Redis URL")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a result")
    p.add_argument("--expires", type=float, default=s.task_expires,
                   help="seconds after which a task nobody took is dropped (default: AGENT_TASK_EXPIRES)")
    p.add_argument("--json", action="store_true", default=False, help="answers as JSON (every command)")
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True)

    add_system_commands(sub)
    add_agents_command(sub)
    kern = sub.add_parser("kernel", help="a kernel: create, run code, files, lifecycle")
    kernel_sub = kern.add_subparsers(dest="kernel_command", required=True)
    add_kernel_create_command(kernel_sub)
    add_file_commands(kernel_sub)
    add_execution_commands(kernel_sub)
    add_lifecycle_commands(kernel_sub)
    add_events_commands(sub)
    add_image_commands(sub)
    add_task_commands(sub)
    add_pipeline_commands(sub)
    add_json_everywhere(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out = out = Output(args.json)
    client = AgentClient(args.agent, args.redis_url, expires=args.expires, default_timeout=args.timeout)
    try:
        args.handler(client, args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if args.debug:
            traceback.print_exc()
        out.error(*describe_error(e, args))
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
