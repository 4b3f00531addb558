"""The pipeline is built from the stages' declarations: order, waits, and refusals of bad ones."""

from __future__ import annotations

import pytest

from tests.unit.pipeline.stages import Journal, fake_stage
from worker.pipeline.graph import Pipeline, PipelineError


def test_a_stage_waits_for_every_provider_of_what_it_requires() -> None:
    j = Journal()
    p = Pipeline([
        fake_stage("uses", requires=("mounts",), journal=j),
        fake_stage("a", provides=("mounts",), journal=j),
        fake_stage("b", provides=("mounts", "other"), journal=j),
    ])
    assert p.after["uses"] == {"a", "b"}
    assert p.names() == ["a", "b", "uses"]  # dependencies first, ties in declared order


def test_start_step_stages_come_after_every_provision_stage() -> None:
    j = Journal()
    p = Pipeline([
        fake_stage("container", requires=("record",), step="start", journal=j),
        fake_stage("record", provides=("record",), journal=j),
        fake_stage("late", journal=j),
    ])
    assert p.names(p.stages("provision")) == ["record", "late"]
    assert p.names() == ["record", "late", "container"]


@pytest.mark.parametrize("stages, message", [
    (lambda j: [fake_stage("a", journal=j), fake_stage("a", journal=j)], "used twice"),
    (lambda j: [fake_stage("a", requires=("nothing",), journal=j)], "no stage provides"),
    (lambda j: [fake_stage("a", requires=("y",), provides=("x",), journal=j),
                fake_stage("b", requires=("x",), provides=("y",), journal=j)], "cycle"),
    (lambda j: [fake_stage("a", requires=("x",), journal=j),
                fake_stage("b", provides=("x",), step="start", journal=j)], "later-step"),
])
def test_bad_declarations_are_refused_with_the_reason(stages: object, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        Pipeline(stages(Journal()))  # type: ignore[operator]


def test_describe_lists_each_stage_with_its_waits_and_origin() -> None:
    j = Journal()
    p = Pipeline([fake_stage("a", provides=("x",), journal=j), fake_stage("b", requires=("x",), journal=j)],
                 origins={"b": "plugin: b = pkg:B"})
    nodes = {n.name: n for n in p.describe()}
    assert nodes["b"].after == ["a"] and nodes["b"].requires == ["x"] and nodes["b"].origin == "plugin: b = pkg:B"
    assert nodes["a"].origin == "builtin"
