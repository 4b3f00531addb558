"""The creation pipeline's graph as text (a table in run order) or as Graphviz dot."""

from __future__ import annotations

from contract.pipeline import PipelineGraph, StageInfo


def levels(graph: PipelineGraph) -> dict[str, int]:
    """Each stage's wave within its step: 1 for stages that wait for nothing in their step, else one
    more than the latest stage they wait for. Stages of one wave may run side by side."""
    step_of = {s.name: s.step for s in graph.stages}
    level: dict[str, int] = {}
    for s in graph.stages:  # stages come in an order that respects every dependency
        same_step = [level[a] for a in s.after if step_of.get(a) == s.step and a in level]
        level[s.name] = 1 + max(same_step, default=0)
    return level


def _facts_between(src: StageInfo, dst: StageInfo) -> list[str]:
    return sorted(set(src.provides) & set(dst.requires))


def direct_waits(graph: PipelineGraph) -> dict[str, list[str]]:
    """Each stage's waits without those implied by others (a waits for b, b for c: not a for c)."""
    after = {s.name: set(s.after) for s in graph.stages}
    reach: dict[str, set[str]] = {}
    for s in graph.stages:  # dependencies first
        reach[s.name] = set().union(*(reach.get(a, set()) | {a} for a in after[s.name]))
    return {name: sorted(a for a in waits if not any(a in reach.get(b, set()) for b in waits - {a}))
            for name, waits in after.items()}


def render_text(graph: PipelineGraph) -> str:
    wave = levels(graph)
    rows = [("STEP", "WAVE", "STAGE", "REQUIRES", "PROVIDES", "ORIGIN")]
    for s in graph.stages:
        rows.append((s.step, str(wave[s.name]), s.name, ", ".join(s.requires) or "-",
                     ", ".join(s.provides) or "-", s.origin))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows]
    for p in graph.plugins:
        state = f"failed: {p.error}" if p.error else f"stages: {', '.join(p.stages) or '-'}"
        lines.append(f"plugin {p.entry_point}: {state}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_dot(graph: PipelineGraph) -> str:
    by_name = {s.name: s for s in graph.stages}
    out = ["digraph pipeline {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for step in ("provision", "start"):
        out.append(f'  subgraph "cluster_{step}" {{')
        out.append(f'    label="{step} step";')
        for s in graph.stages:
            if s.step == step:
                style = "" if s.origin == "builtin" else ", style=dashed"
                out.append(f'    "{s.name}" [label="{s.name}"{style}];')
        out.append("  }")
    waits = direct_waits(graph)
    for s in graph.stages:
        for a in waits[s.name]:
            facts = _facts_between(by_name[a], s) if a in by_name else []
            out.append(f'  "{a}" -> "{s.name}" [label="{", ".join(facts)}"];')
    out.append("}")
    return "\n".join(out) + "\n"
