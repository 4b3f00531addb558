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
from contract.kernels import CreateKernelsReq
from tasks.agent_task import agent_task, spec_errors, to_json
from worker.app import app
from worker.host import host
from worker.kernels import create
from worker.kernels.create import PlanEntry


@agent_task(ops.CREATE_KERNELS, bind=True)
def create_kernels(task: Task, req: CreateKernelsReq) -> None:
    """Create the session's kernels on this host; the result is one KernelCreationResult per kernel."""
    svc = host().kernels
    entries = create.plan(svc, req, result_id=task.request.id)
    create.announce(svc, entries)
    queue = svc.settings.queue  # on every step: a chain's queue option routes only its first step
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
    return to_json(create.provision_all(host().kernels, plan, settled))


def _start(entries: list[dict[str, Any]]) -> Any:
    plan = [PlanEntry.model_validate(e) for e in entries]
    return to_json(create.start_all(host().kernels, plan, settled))


provision_step = app.task(name=ops.PROVISION_STEP)(spec_errors(ops.PROVISION_STEP, _provision))
start_step = app.task(name=ops.START_STEP)(spec_errors(ops.START_STEP, _start))
