"""Running a step of the pipeline for one kernel, and tearing it down.

`run_step` runs every stage of the step not yet done as soon as the stages it waits for are done,
up to `parallel` at once (a lone ready stage runs in the calling thread). Specs are built and
results recorded in the calling thread only, so stages never see the context change under them;
after each stage `on_done` saves the context. On a failure no new stage starts, the running ones
finish and are recorded, and the first error is raised: the caller tears down what is recorded.

`teardown` undoes the recorded stages in reverse order of completion (and, for a creation cut
short, whatever a stage's `leftover` finds first); its errors are logged and returned, never
raised, so one failing teardown does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.graph import AnyStage, Pipeline
from worker.pipeline.stage import Step

log = logging.getLogger(__name__)

OnDone = Callable[[KernelContext, str, float], None]


def _nothing(ctx: KernelContext, name: str, seconds: float) -> None:
    pass


def _timed_setup(stage: AnyStage, spec: Any) -> tuple[BaseModel, float]:
    started = time.perf_counter()
    resource = stage.setup(spec)
    return resource, time.perf_counter() - started


def run_step(pipeline: Pipeline, step: Step, ctx: KernelContext, *, parallel: int = 4,
             on_done: OnDone = _nothing) -> None:
    """Set up every stage of `step` not yet done (a redelivered step skips what is recorded)."""
    todo = [s for s in pipeline.stages(step) if s.name not in ctx.done]
    running: dict[Future[tuple[BaseModel, float]], AnyStage] = {}
    failure: BaseException | None = None
    pool: ThreadPoolExecutor | None = None

    def ready() -> list[AnyStage]:
        return [s for s in todo if all(d in ctx.done for d in pipeline.after[s.name])]

    def finish(stage: AnyStage, resource: BaseModel, seconds: float) -> None:
        ctx.record(stage.name, resource, seconds)
        on_done(ctx, stage.name, seconds)

    try:
        while todo or running:
            startable = ready() if failure is None else []
            if len(startable) == 1 and not running:  # nothing to overlap with: no thread hop
                stage = startable[0]
                todo.remove(stage)
                try:
                    finish(stage, *_timed_setup(stage, stage.spec(ctx)))
                except BaseException as e:
                    failure = e
                continue
            for stage in startable[:max(0, parallel - len(running))]:
                todo.remove(stage)
                if pool is None:
                    pool = ThreadPoolExecutor(parallel, thread_name_prefix=f"stage-{ctx.kernel_id[:8]}")
                try:
                    running[pool.submit(_timed_setup, stage, stage.spec(ctx))] = stage
                except BaseException as e:
                    failure = failure or e
            if not running:
                if failure is not None or not todo:
                    break
                raise RuntimeError(f"stages {[s.name for s in todo]} of kernel {ctx.kernel_id} can never start")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stage = running.pop(future)
                try:
                    finish(stage, *future.result())
                except BaseException as e:
                    if failure is None:
                        failure = e
                    else:
                        log.error("kernel %s: stage %s failed too: %s", ctx.kernel_id, stage.name, e)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    if failure is not None:
        raise failure


def teardown(pipeline: Pipeline, ctx: KernelContext, *, step: Step | None = None,
             leftovers: bool = False) -> list[str]:
    """Tear down the recorded stages (of `step`, or all) in reverse order of completion; with
    `leftovers`, first what unrecorded stages' `leftover` finds. Returns the errors."""
    errors: list[str] = []

    def undo(stage: AnyStage, resource: BaseModel) -> None:
        try:
            stage.teardown(resource)
        except Exception as e:
            log.exception("teardown of %s for kernel %s failed", stage.name, ctx.kernel_id)
            errors.append(f"{stage.name}: {e}")

    if leftovers:
        for stage in reversed(pipeline.stages(step)):
            if stage.name not in ctx.done and (found := stage.leftover(ctx)) is not None:
                undo(stage, found)
    for name in reversed(list(ctx.done)):
        known = pipeline.get(name)
        if known is None:
            if step is None:
                log.warning("kernel %s: stage %s is not in this pipeline: nothing torn down", ctx.kernel_id, name)
                ctx.forget(name)
            continue
        if step is not None and known.step != step:
            continue
        undo(known, known.resource_type.model_validate(ctx.resources.get(name, {})))
        ctx.forget(name)
    return errors
