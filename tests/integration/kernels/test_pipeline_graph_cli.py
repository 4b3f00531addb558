"""`agentctl pipeline graph` prints the agent's real creation pipeline, as text and as Graphviz dot."""

from __future__ import annotations

import pytest

from agent_client.cli import main as cli
from agent_client.client import AgentClient
from worker.config import AgentSettings
from worker.runtime import host


def test_describe_pipeline_lists_every_stage_of_the_running_agent_in_run_order(client: AgentClient) -> None:
    graph = client.call("describe_pipeline")
    names = [s["name"] for s in graph["stages"]]
    assert names == [s.name for s in host().pipeline.stages()]
    assert names[0] == "image" and names[-3:] == ["container_creation", "container_verification", "model_service"]
    by_name = {s["name"]: s for s in graph["stages"]}
    assert by_name["environ"]["after"] == ["resource"] and by_name["environ"]["requires"] == ["allocation"]
    assert by_name["container_creation"]["step"] == "start"


@pytest.mark.parametrize("fmt, expected", [
    ("text", ["STEP", "container_verification", "provision  1     image"]),
    ("dot", ['digraph pipeline {', '"resource" -> "environ" [label="allocation"];', 'subgraph "cluster_start"']),
])
def test_agentctl_pipeline_graph_prints_it(redis_url: str, settings: AgentSettings, worker: object,
                                           capsys: pytest.CaptureFixture[str], fmt: str, expected: list[str]) -> None:
    rc = cli.main(["--agent", settings.id, "--redis-url", redis_url, "pipeline", "graph", "--format", fmt])
    out = capsys.readouterr().out
    assert rc == 0
    for piece in expected:
        assert piece in out
