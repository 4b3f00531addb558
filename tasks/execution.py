"""Tasks: running code in kernels (execute, interrupt, completions, ping, logs, services, batch)."""

from __future__ import annotations

from typing import Any

from contract import operations as ops
from contract.execution import (
    ExecuteReq,
    GetCompletionsReq,
    ShutdownServiceReq,
    StartServiceReq,
    TriggerBatchExecutionReq,
)
from contract.kernels import KernelReq, LifecycleReason
from contract.naming import output_key
from tasks.agent_task import agent_task
from tasks.lifecycle import destroy_kernel
from worker import batch_execution, execution, service_apps
from worker.runtime import host


# The hot path: no STARTED state write, of Celery's task events only the final one (so Flower shows
# how each call ended; execution_started/finished say the rest), and at most once (a redelivered
# query would run the user's code twice); docs/execution.md.
@agent_task(ops.EXECUTE, long=True, track_started=False, send_events=False, acks_late=False,
            Request="tasks.final_events:FinalEventRequest")
def execute(req: ExecuteReq) -> dict[str, Any]:
    """Start, continue or feed input to a run; returns the output gathered within flush_timeout."""
    key = output_key(execute.request.id) if req.stream else None
    return execution.execute(host(), req, _destroy_later, key)


def _destroy_later(kernel_id: str, session_id: str, reason: LifecycleReason) -> None:
    """A destroy_kernel task on this host's queue (the app's default queue)."""
    destroy_kernel.apply_async(kwargs={"kernel_id": kernel_id, "session_id": session_id, "reason": reason.value})


@agent_task(ops.INTERRUPT_KERNEL)
def interrupt_kernel(req: KernelReq) -> None:
    """Raise KeyboardInterrupt in the kernel's running code."""
    execution.interrupt(host(), req.kernel_id)


@agent_task(ops.CANCEL_RUN)
def cancel_run(req: KernelReq) -> bool:
    """Kill the kernel's current run and drop its buffered output (agentctl's ^C ^C)."""
    return execution.cancel_run(host(), req.kernel_id)


@agent_task(ops.GET_COMPLETIONS)
def get_completions(req: GetCompletionsReq) -> dict[str, Any]:
    """Completions of the end of `text` in the kernel's namespace."""
    return execution.completions(host(), req)


@agent_task(ops.PING_KERNEL)
def ping_kernel(req: KernelReq) -> dict[str, Any] | None:
    """The runner's start time and round trip, or None when the kernel does not answer."""
    return execution.ping(host(), req.kernel_id)


@agent_task(ops.GET_LOGS)
def get_logs(req: KernelReq) -> dict[str, Any]:
    """The kernel container's stdout and stderr."""
    return execution.container_logs(host(), req.kernel_id)


@agent_task(ops.START_SERVICE, long=True)
def start_service(req: StartServiceReq) -> dict[str, Any]:
    """Start a service declared by the kernel's image; waits until its port opens."""
    return service_apps.start(host(), req)


@agent_task(ops.SHUTDOWN_SERVICE)
def shutdown_service(req: ShutdownServiceReq) -> None:
    """Stop a service; failures are logged, never raised."""
    service_apps.shutdown(host(), req)


@agent_task(ops.TRIGGER_BATCH_EXECUTION)
def trigger_batch_execution(req: TriggerBatchExecutionReq) -> None:
    """Queue the batch run on this host and return at once; the outcome comes as session events."""
    run_batch_execution.apply_async(kwargs=req.model_dump(), queue=host().settings.queue,
                                    routing_key=host().settings.queue)


# At most once: a redelivered batch run would run the session's code twice.
@agent_task(ops.RUN_BATCH_EXECUTION, long=True, acks_late=False)
def run_batch_execution(req: TriggerBatchExecutionReq) -> None:
    """Run a batch session's code to its end (started by trigger_batch_execution)."""
    batch_execution.run_batch(host(), req)
