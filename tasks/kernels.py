"""create_kernels: validated here, then run as a Celery chain on this host's queue.

    agent.create_kernels  --replace-->  agent.kernels.provision | agent.kernels.start

`provision` pulls the image alongside the host-side stages; `start` creates the containers and
waits for their runners. Both steps work on every kernel of the request in parallel threads, are
idempotent by kernel id (a redelivered step continues from the state saved in the registry), and
tear a failed kernel down before the chain's result reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task, chain

from tasks.agent_task import agent_task, spec_errors
from tasks.contract import CreateKernelsReq, KernelCreationResult
from worker.app import app
from worker.errors import KernelCreationFailed
from worker.host import host
from worker.kernels import create
from worker.kernels.create import PlanEntry
from worker.stages.context import KernelContext


@agent_task("agent.create_kernels", CreateKernelsReq, bind=True)
def create_kernels(task: Task, req: CreateKernelsReq) -> None:
    """Create the session's kernels on this host; the result is one KernelCreationResult per kernel."""
    svc = host().kernels
    entries = create.plan(svc, req, result_id=task.request.id)
    create.announce(svc, entries)
    queue = svc.settings.queue  # on every step: a chain's queue option routes only its first step
    steps = chain(
        provision_step.si([e.model_dump(mode="json") for e in entries]).set(queue=queue),
        start_step.s().set(queue=queue),
    )
    raise task.replace(steps)


def _each(entries: list[dict[str, Any]], work: Callable[[KernelContext], Any]) -> list[tuple[PlanEntry, Any]]:
    """Run `work` for every kernel not failed yet, in parallel; a failure tears its kernel down."""
    svc = host().kernels
    plan = [PlanEntry.model_validate(e) for e in entries]

    def one(entry: PlanEntry) -> tuple[PlanEntry, Any]:
        if entry.error is not None:
            return entry, None
        if entry.ctx.result_id and app.AsyncResult(entry.ctx.result_id).ready():
            # redelivered after recovery already failed this creation: never make it again
            return PlanEntry(ctx=entry.ctx, error="creation was abandoned by an agent restart"), None
        try:
            return entry, work(entry.ctx)
        except Exception as exc:
            create.abort(svc, entry.ctx, create.failure_reason(exc), str(exc))
            return PlanEntry(ctx=entry.ctx, error=f"{type(exc).__name__}: {exc}"), None

    with ThreadPoolExecutor(max(1, len(plan)), thread_name_prefix="kernel") as pool:
        return list(pool.map(one, plan))


def _provision(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    svc = host().kernels
    done = _each(entries, lambda ctx: create.provision(svc, ctx))
    return [PlanEntry(ctx=ctx or e.ctx, error=e.error).model_dump(mode="json") for e, ctx in done]


def _start(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    svc = host().kernels
    done = _each(entries, lambda ctx: create.start(svc, ctx))
    failed = [e for e, _ in done if e.error is not None]
    if failed:
        created = [r.id for _, r in done if r is not None]
        detail = "; ".join(f"kernel {e.ctx.kernel_id}: {e.error}" for e in failed)
        raise KernelCreationFailed(
            f"{len(failed)} of {len(done)} kernels failed to be created ({detail})"
            + (f"; created and still running: {', '.join(created)}" if created else ""))
    return [r.model_dump(mode="json") for _, r in done if isinstance(r, KernelCreationResult)]


provision_step = app.task(name="agent.kernels.provision")(spec_errors("agent.kernels.provision", _provision))
start_step = app.task(name="agent.kernels.start")(spec_errors("agent.kernels.start", _start))
