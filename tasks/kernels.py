"""create_kernels: validated here, then run as a Celery chain on this host's queue.

    agent.create_kernels  --replace-->  agent.kernels.provision | agent.kernels.start

`provision` pulls the image alongside the host-side stages; `start` creates the containers and
waits for their runners. Both steps work on every kernel of the request in parallel threads, are
idempotent by kernel id (a redelivered step continues from the state saved in the registry), and
tear a failed kernel down before the chain's result reports it (worker/kernels/create.py).
"""

from __future__ import annotations

from typing import Any

from celery import Task, chain

from contract import operations as ops
from contract.common import Empty
from contract.kernels import CreateKernelsReq
from contract.pipeline import PipelineGraph
from tasks.agent_task import agent_task, long_work_slot, spec_errors, to_json
from worker.app import app
from worker.kernels import create
from worker.kernels.create import PlanEntry
from worker.runtime import host


@agent_task(ops.CREATE_KERNELS, bind=True)
def create_kernels(task: Task, req: CreateKernelsReq) -> None:
    """Create the session's kernels on this host; the result is one KernelCreationResult per kernel."""
    h = host()
    entries = create.plan(h, req, result_id=task.request.id)
    create.announce(h, entries)
    queue = h.settings.queue  # on every step: a chain's queue option routes only its first step
    # The last step carries the caller's task id; shadowed, it shows as this creation in Flower and
    # `celery events` (with the provision step beside it, its parent the creation's id).
    steps = chain(
        provision_step.si(to_json(entries)).set(queue=queue),
        start_step.s().set(queue=queue, shadow=ops.CREATE_KERNELS.name),
    )
    raise task.replace(steps)


def settled(result_id: str) -> bool:
    """The caller's result is already decided (recovery failed it after a crash)."""
    return bool(app.AsyncResult(result_id).ready())


def _provision(entries: list[dict[str, Any]]) -> Any:
    plan = [PlanEntry.model_validate(e) for e in entries]
    with long_work_slot():
        return to_json(create.provision_all(host(), plan, settled))


def _start(entries: list[dict[str, Any]]) -> Any:
    plan = [PlanEntry.model_validate(e) for e in entries]
    with long_work_slot():
        return to_json(create.start_all(host(), plan, settled))


provision_step = app.task(name=ops.PROVISION_STEP, max_retries=None)(spec_errors(ops.PROVISION_STEP, _provision))
start_step = app.task(name=ops.START_STEP, max_retries=None)(spec_errors(ops.START_STEP, _start))


@agent_task(ops.DESCRIBE_PIPELINE)
def describe_pipeline(req: Empty) -> PipelineGraph:
    """The creation pipeline as this agent loaded it: stages, what each waits for, plugins."""
    h = host()
    return PipelineGraph(stages=h.pipeline.describe(), plugins=h.plugins)
