"""The executor: stages run when their requirements are met, side by side when they can; a failure
tears down what finished, in reverse order of completion; a redelivered step skips what is done."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.unit.pipeline.stages import Journal, context, fake_stage
from worker.pipeline.graph import Pipeline
from worker.pipeline.run import run_step, teardown


def test_independent_slow_stages_overlap_and_the_dependent_one_runs_after_both() -> None:
    j = Journal()
    p = Pipeline([
        fake_stage("slow_a", provides=("a",), seconds=0.3, journal=j),
        fake_stage("slow_b", provides=("b",), seconds=0.3, journal=j),
        fake_stage("both", requires=("a", "b"), journal=j),
    ])
    ctx = context()
    started = time.perf_counter()
    run_step(p, "provision", ctx, parallel=4)
    wall = time.perf_counter() - started
    assert wall < 0.55, f"the two 0.3 s stages did not overlap ({wall:.2f} s)"
    assert j.lines[-1] == "made both"
    assert j.spans["both"][0] >= max(j.spans["slow_a"][1], j.spans["slow_b"][1])
    assert ctx.done[-1] == "both" and set(ctx.timings) == {"slow_a", "slow_b", "both"}


def test_parallel_one_runs_the_stages_one_at_a_time() -> None:
    j = Journal()
    p = Pipeline([fake_stage(n, seconds=0.05, journal=j) for n in ("a", "b", "c")])
    run_step(p, "provision", context(), parallel=1)
    spans = sorted(j.spans.values())
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


def test_a_failure_tears_down_what_completed_in_reverse_order_of_completion() -> None:
    j = Journal()
    p = Pipeline([
        fake_stage("quick", provides=("a",), journal=j),
        fake_stage("slower", provides=("b",), seconds=0.1, journal=j),
        fake_stage("broken", requires=("a", "b"), fails=True, journal=j),
        fake_stage("never", requires=("a", "b"), provides=("c",), step="start", journal=j),
    ])
    ctx = context()
    with pytest.raises(OSError, match="broken failed"):
        run_step(p, "provision", ctx, parallel=4)
    assert ctx.done == ["quick", "slower"]
    assert teardown(p, ctx) == []
    assert j.lines[-2:] == ["undone slower", "undone quick"]
    assert ctx.done == [] and ctx.resources == {}


def test_stages_running_when_another_fails_finish_and_are_recorded_for_teardown() -> None:
    j = Journal()
    p = Pipeline([fake_stage("broken", fails=True, journal=j), fake_stage("long", seconds=0.2, journal=j),
                  fake_stage("after_long", requires=("x",), journal=j),
                  fake_stage("provider", provides=("x",), seconds=0.3, journal=j)])
    ctx = context()
    with pytest.raises(OSError):
        run_step(p, "provision", ctx, parallel=4)
    assert set(ctx.done) == {"long", "provider"}  # nothing new started after the failure
    assert "made after_long" not in j.lines


def test_a_redelivered_step_skips_the_stages_already_done_and_saves_after_each() -> None:
    j = Journal()
    p = Pipeline([fake_stage("a", provides=("a",), journal=j), fake_stage("b", requires=("a",), journal=j)])
    ctx = context()
    saved: list[list[str]] = []
    run_step(p, "provision", ctx, on_done=lambda c, name, seconds: saved.append(list(c.done)))
    run_step(p, "provision", ctx, on_done=lambda c, name, seconds: saved.append(list(c.done)))
    assert j.lines == ["made a", "made b"]
    assert saved == [["a"], ["a", "b"]]


def test_teardown_of_one_step_leaves_the_other_steps_stages() -> None:
    j = Journal()
    p = Pipeline([fake_stage("prep", provides=("p",), journal=j),
                  fake_stage("run", requires=("p",), step="start", journal=j)])
    ctx = context()
    run_step(p, "provision", ctx)
    run_step(p, "start", ctx)
    teardown(p, ctx, step="start")
    assert ctx.done == ["prep"] and j.lines[-1] == "undone run"


def test_leftovers_of_stages_never_recorded_are_torn_down_first() -> None:
    j = Journal()
    crashed = fake_stage("crashed", requires=("p",), journal=j)
    crashed.leftover = lambda ctx: crashed.resource_type(what="crashed")  # type: ignore[method-assign]
    p = Pipeline([fake_stage("prep", provides=("p",), journal=j), crashed])
    ctx = context()
    run_step(p, "provision", ctx)
    ctx.forget("crashed")  # as if the worker died before the stage was saved
    teardown(p, ctx, leftovers=True)
    assert j.lines[-2:] == ["undone crashed", "undone prep"]


def test_one_failing_teardown_does_not_stop_the_others() -> None:
    j = Journal()
    bad = fake_stage("bad", journal=j)

    def explode(resource: object) -> None:
        raise OSError("stuck")

    bad.teardown = explode  # type: ignore[method-assign]
    p = Pipeline([fake_stage("first", provides=("f",), journal=j), bad])
    ctx = context()
    run_step(p, "provision", ctx, parallel=1)
    assert teardown(p, ctx) == ["bad: stuck"]
    assert "undone first" in j.lines and ctx.done == []
