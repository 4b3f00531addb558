"""Pull progress from Docker's messages, and how agentctl draws it."""

from __future__ import annotations

from agent_client.cli.images import render_progress
from worker.images.pull import PullProgress

MESSAGES = [
    {"status": "Pulling from proj/x", "id": "v1"},
    {"status": "Pulling fs layer", "id": "a"},
    {"status": "Pulling fs layer", "id": "b"},
    {"status": "Already exists", "id": "c"},
    {"status": "Downloading", "progressDetail": {"current": 100, "total": 1000}, "id": "a"},
    {"status": "Downloading", "progressDetail": {"current": 50, "total": 500}, "id": "b"},
]


def test_progress_counts_bytes_and_layers() -> None:
    p = PullProgress()
    for m in MESSAGES:
        p.feed(m)
    assert p.snapshot() == {"current_bytes": 150, "total_bytes": 1500, "layers_done": 1, "layers_total": 3}
    for m in [
        {"status": "Download complete", "id": "a"},
        {"status": "Extracting", "id": "a", "progressDetail": {"current": 10, "total": 1000}},
        {"status": "Pull complete", "id": "a"},
    ]:
        p.feed(m)
    assert p.snapshot() == {"current_bytes": 1050, "total_bytes": 1500, "layers_done": 2, "layers_total": 3}


def test_messages_without_a_layer_are_ignored() -> None:
    p = PullProgress()
    p.feed({"status": "Digest: sha256:abc"})
    p.feed({"status": "Status: Downloaded newer image for x"})
    assert p.snapshot()["layers_total"] == 0


def test_render_progress_draws_a_bar() -> None:
    line = render_progress(
        {"current_bytes": 5_000_000, "total_bytes": 10_000_000, "layers_done": 1, "layers_total": 4}
    )
    assert line.startswith("[" + "#" * 15 + "." * 15 + "]") and "50%" in line
    assert "5.0/10.0 MB" in line and "layers 1/4" in line
    assert "0%" in render_progress(
        {"current_bytes": 0, "total_bytes": 0, "layers_done": 0, "layers_total": 0}
    )
