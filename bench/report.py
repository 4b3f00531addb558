"""What the benchmarks' reports share: percentiles, and rewriting a results file's figures while
keeping the hand-written notes below them."""

from __future__ import annotations

from pathlib import Path

NOTES = "\n## Notes"


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def write_results(path: Path, title: str, text: str) -> None:
    """Replace the figures in `path` with `text`, keeping its `## Notes` section."""
    old = path.read_text() if path.exists() else ""
    notes = old[old.index(NOTES):] if NOTES in old else ""
    path.write_text(f"# {title}\n\n{text}\n{notes}")
