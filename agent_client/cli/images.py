"""`agentctl image ...`: pull (with a progress bar), push and commit (with the time they take), purge,
commit-status.

Registry passwords come from an environment variable (`--password-env`), never the command line.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from celery.result import AsyncResult

from agent_client.cli.waiting import wait_with_progress
from agent_client.client import AgentClient
from agent_client.events import StreamCursor
from agent_client.images import check_and_pull, pull_events, push_image
from agent_client.redis_clients import redis_client
from contract.image_reference import parse_reference

BAR_WIDTH = 30


def render_progress(payload: dict[str, Any]) -> str:
    """`[#########.........]  45%  12.3/27.1 MB  layers 2/5` from an image_pull_progress payload."""
    cur, total = int(payload["current_bytes"]), int(payload["total_bytes"])
    frac = cur / total if total else 0.0
    filled = int(frac * BAR_WIDTH)
    layers = f"layers {payload['layers_done']}/{payload['layers_total']}"
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"[{bar}] {frac:4.0%}  {cur / 1e6:.1f}/{total / 1e6:.1f} MB  {layers}"


def _registry(a: argparse.Namespace, host: str | None) -> dict[str, Any] | None:
    if not a.username:
        return None
    return {"name": host or a.registry_url, "url": a.registry_url or f"http://{host}",
            "username": a.username, "password": os.environ.get(a.password_env, "")}


def cmd_pull(c: AgentClient, a: argparse.Namespace) -> None:
    ref = parse_reference(a.image)
    config: dict[str, Any] = {"canonical": a.image, "auto_pull": a.auto_pull, "is_local": a.local,
                              "registry": _registry(a, ref.registry)}
    if a.digest:
        config["digest"] = a.digest
    cursor = StreamCursor(redis_client(a.redis_url), a.events_stream)
    task_id = check_and_pull(c, {a.image: config}, timeout=a.timeout)[a.image]
    shown, outcome = False, {"image": a.image, "pulled": False, "msg": None}
    for event in pull_events(cursor, c.agent_id, a.image, time.monotonic() + a.timeout):
        if event.name == "image_pull_progress":
            a.out.progress("\r" + render_progress(event.payload), end="")
            shown = True
        elif event.name in ("image_pull_finished", "image_pull_failed"):
            if shown:
                a.out.progress("")
            outcome = {"image": a.image, "pulled": event.name == "image_pull_finished",
                       "msg": event.payload.get("msg")}
    AsyncResult(task_id, app=c.app).get(timeout=a.timeout)
    a.out.result(outcome, f"{a.image}: {outcome['msg'] or 'pulled'}")


def cmd_push(c: AgentClient, a: argparse.Namespace) -> None:
    ref = parse_reference(a.image)
    registry = ref.registry or "local"
    path = ref.repository.removeprefix(f"{registry}/")
    project, _, name = path.rpartition("/")
    image_ref = {"name": name, "project": project or None, "tag": ref.tag or "latest", "registry": registry,
                 "is_local": ref.registry is None}
    conf = _registry(a, ref.registry) or {"name": registry, "url": a.registry_url or f"http://{registry}"}
    wait_with_progress(push_image(c, image_ref, conf, a.push_timeout), a.out, f"pushing {a.image}", a.timeout)
    a.out.result({"image": a.image, "pushed": True}, f"pushed {a.image}")


def cmd_purge(c: AgentClient, a: argparse.Namespace) -> None:
    req = {"image_canonicals": a.images, "force": a.force, "noprune": a.noprune}
    a.out.result(c.call("purge_images", request=req))


def cmd_commit(c: AgentClient, a: argparse.Namespace) -> None:
    labels = dict(item.split("=", 1) for item in a.label)
    result = c.send("commit", kernel_id=a.kernel_id, subdir=a.subdir, canonical=a.canonical, filename=a.filename,
                    extra_labels=labels)
    wait_with_progress(result, a.out, f"committing kernel {a.kernel_id}", a.timeout)
    a.out.result({"kernel_id": a.kernel_id, "committed": True, "canonical": a.canonical, "filename": a.filename},
                 f"committed kernel {a.kernel_id}")


def cmd_commit_status(c: AgentClient, a: argparse.Namespace) -> None:
    status = c.call("get_commit_status", kernel_id=a.kernel_id, subdir=a.subdir)
    a.out.result({"kernel_id": a.kernel_id, "status": status}, str(status))


def _add_registry_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--username", help="registry user (no user: no credentials sent)")
    p.add_argument("--password-env", default="AGENT_REGISTRY_PASSWORD",
                   help="environment variable holding the registry password")
    p.add_argument("--registry-url", help="registry URL (default http://<registry host of the image>)")


def add_image_commands(sub: Any) -> None:
    """Register `image` and its subcommands on agentctl's subparsers."""
    img = sub.add_parser("image", help="pull, push, purge images; commit kernels")
    cmds = img.add_subparsers(dest="image_command", required=True)

    p = cmds.add_parser("pull", help="check_and_pull one image and show its progress")
    p.add_argument("image")
    p.add_argument("--auto-pull", choices=["digest", "tag", "none"], default="digest")
    p.add_argument("--digest", help="image id the local image must have (auto-pull digest)")
    p.add_argument("--local", action="store_true", help="a local image: never pulled")
    _add_registry_args(p)
    p.set_defaults(handler=cmd_pull)

    p = cmds.add_parser("push", help="push a local image to its registry")
    p.add_argument("image", help="registry[:port]/[project/]name[:tag]")
    p.add_argument("--push-timeout", type=float, help="seconds (default: the agent's image_push_timeout)")
    _add_registry_args(p)
    p.set_defaults(handler=cmd_push)

    p = cmds.add_parser("purge", help="remove images")
    p.add_argument("images", nargs="+")
    p.add_argument("--force", action="store_true")
    p.add_argument("--noprune", action="store_true")
    p.set_defaults(handler=cmd_purge)

    p = cmds.add_parser("commit", help="commit a kernel's container (and export it with --filename)")
    p.add_argument("kernel_id")
    p.add_argument("subdir")
    p.add_argument("--canonical")
    p.add_argument("--filename")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(handler=cmd_commit)

    p = cmds.add_parser("commit-status", help="ongoing or ready")
    p.add_argument("kernel_id")
    p.add_argument("subdir")
    p.set_defaults(handler=cmd_commit_status)
