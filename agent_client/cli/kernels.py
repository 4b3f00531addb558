"""`agentctl kernel create`: create kernels and show their progress (pull, stages, start) as it comes."""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

from agent_client.cli.images import render_progress
from agent_client.client import AgentClient
from agent_client.events import ReceivedEvent, StreamCursor
from agent_client.redis_clients import redis_client

KERNEL_STEPS = {
    "kernel_preparing": "preparing",
    "kernel_pulling": "pulling the image",
    "kernel_creating": "creating",
    "kernel_started": "started",
    "kernel_terminated": "terminated",
}


def creation_configs(a: argparse.Namespace) -> list[dict[str, Any]]:
    env = dict(item.split("=", 1) for item in a.env)
    configs = []
    for i in range(a.count):
        config: dict[str, Any] = {
            "image": {"canonical": a.image, "is_local": a.local, "auto_pull": a.auto_pull},
            "resource_slots": {"cpu": a.cpu, "mem": a.mem, **({"mock.device": a.mock_devices}
                                                              if a.mock_devices else {})},
            "environ": env,
            "cluster_role": "main" if i == 0 else "sub",
            "cluster_idx": i + 1,
            "cluster_hostname": f"main{i + 1}" if i == 0 else f"sub{i}",
        }
        if a.network:
            config["network_id"] = a.network
        if a.model_definition and i == 0:  # the main kernel serves the models
            config["session_type"] = "inference"
            config["internal_data"] = {"model_definition": json.loads(Path(a.model_definition).read_text())}
        configs.append(config)
    return configs


def describe(event: ReceivedEvent) -> str | None:
    p = event.payload
    if event.name == "image_pull_progress":
        return "\r" + render_progress(p)
    if event.name == "model_service_status":
        state = "healthy" if p["healthy"] else f"unhealthy ({p.get('last_error')})"
        return f"\n{p['kernel_id'][:8]}  model {p['model_name']}: {state}"
    if event.name == "kernel_stage":
        return f"\n{p['kernel_id'][:8]}    {p['stage']:<24} {p['seconds'] * 1000:8.1f} ms"
    step = KERNEL_STEPS.get(event.name)
    if step is None:
        return None
    detail = f" ({p['reason']})" if event.name == "kernel_terminated" else ""
    return f"\n{p['kernel_id'][:8]}  {step}{detail}"


def cmd_create(c: AgentClient, a: argparse.Namespace) -> None:
    session_id = a.session or str(uuid.uuid4())
    kernel_ids = [str(uuid.uuid4()) for _ in range(a.count)]
    cursor = StreamCursor(redis_client(a.redis_url), a.events_stream)
    result = c.send("create_kernels", raw_session_id=session_id, raw_kernel_ids=kernel_ids,
                    raw_configs=creation_configs(a))
    mine = set(kernel_ids)
    deadline = time.monotonic() + a.timeout
    while not result.ready() and time.monotonic() < deadline:
        for event in cursor.read(block_ms=200):
            if event.source != c.agent_id:
                continue
            ours = event.payload.get("kernel_id") in mine or event.payload.get("image") == a.image
            line = describe(event) if ours else None
            if line:
                a.out.progress(line, end="")
    a.out.progress("")
    created = result.get(timeout=max(deadline - time.monotonic(), 1))
    a.out.result({"session_id": session_id, "kernels": created})


def add_kernel_create_command(kernel_sub: Any) -> None:
    p = kernel_sub.add_parser("create", help="create kernels (one session) and show their progress")
    p.add_argument("image", help="image reference, e.g. kernel-python:latest")
    p.add_argument("--cpu", type=float, default=1, help="cores per kernel")
    p.add_argument("--mem", default="256m", help="memory per kernel (bytes, or 256m, 1g)")
    p.add_argument("--mock-devices", type=int, default=0, help="mock accelerator devices per kernel")
    p.add_argument("--count", type=int, default=1, help="kernels in the session (a cluster when > 1)")
    p.add_argument("--network", help="the session's bridge network (see `agentctl network create`)")
    p.add_argument("--session", help="session id (default: a new one)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable")
    p.add_argument("--local", action="store_true", help="the image is local: never pull it")
    p.add_argument("--auto-pull", choices=["digest", "tag", "none"], default="tag")
    p.add_argument("--model-definition", metavar="FILE",
                   help="an inference session: its model definition (JSON; see docs/inference.md)")
    p.set_defaults(handler=cmd_create)
