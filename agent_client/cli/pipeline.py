"""`agentctl pipeline graph`: the creation pipeline of a host's agent, as it loaded it (plugins too)."""

from __future__ import annotations

import argparse
from typing import Any

from agent_client.client import AgentClient
from agent_client.pipeline_graph import render_dot, render_text
from contract.pipeline import PipelineGraph


def cmd_graph(c: AgentClient, a: argparse.Namespace) -> None:
    graph = PipelineGraph.model_validate(c.call("describe_pipeline"))
    text = render_dot(graph) if a.format == "dot" else render_text(graph)
    a.out.result(graph.model_dump(mode="json"), text.rstrip("\n"))


def add_pipeline_commands(sub: Any) -> None:
    p = sub.add_parser("pipeline", help="the kernel-creation pipeline of the agent")
    cmds = p.add_subparsers(dest="pipeline_command", required=True)
    g = cmds.add_parser("graph", help="its stages: what each waits for and provides (text or Graphviz dot)")
    g.add_argument("--format", choices=["text", "dot"], default="text")
    g.set_defaults(handler=cmd_graph)
