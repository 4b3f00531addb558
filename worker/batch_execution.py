"""A batch session's code, run to its end in the background (trigger_batch_execution).

The loop drives the runner's batch mode and reports the outcome as session events:
`session_success` (task-finished, 0), `session_failure` (task-failed with the exit code, or
task-timeout with -2 when `timeout` passes first; the run is killed then).
"""

from __future__ import annotations

import logging
import time
import uuid

from contract.errors import KernelUnavailable
from contract.events import SessionFailure, SessionSuccess
from contract.execution import TriggerBatchExecutionReq
from worker.execution import explain_unreachable, runnable_kernel, runner_of
from worker.host import Host
from worker.run_steps import REPLY_MARGIN
from worker.runner_client import RunnerRefused, RunnerUnavailable

log = logging.getLogger(__name__)

POLL = 1.0  # seconds the runner waits for output per step
TIMEOUT_EXIT_CODE = -2


def run_batch(h: Host, req: TriggerBatchExecutionReq) -> None:
    """Run `code` as the kernel's batch `exec` command and emit the session's outcome event."""
    sid = req.session_id
    deadline = time.monotonic() + req.timeout if req.timeout else None
    try:
        record = runnable_kernel(h, req.kernel_id)
    except KernelUnavailable as e:
        log.warning("batch execution of session %s: %s", sid, e)
        h.events.produce(SessionFailure(session_id=sid, reason="task-failed", exit_code=-1))
        return
    runner = runner_of(h, record)
    run_id = f"batch-{uuid.uuid4().hex}"
    mode = "batch"
    try:
        while True:
            flush = POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic()))
            if deadline is not None and flush <= 0:
                runner.request("cancel")
                h.events.produce(SessionFailure(session_id=sid, reason="task-timeout",
                                                exit_code=TIMEOUT_EXIT_CODE))
                return
            reply = runner.request("execute", timeout=flush + REPLY_MARGIN, run_id=run_id, mode=mode,
                                   code=req.code, opts={"exec": req.code}, flush_timeout=flush)
            mode = "continue"
            if reply["status"] == "finished":
                code = int(reply["exitCode"])
                if code == 0:
                    h.events.produce(SessionSuccess(session_id=sid, reason="task-finished", exit_code=0))
                else:
                    h.events.produce(SessionFailure(session_id=sid, reason="task-failed", exit_code=code))
                return
            if reply["status"] == "exec-timeout":
                h.events.produce(SessionFailure(session_id=sid, reason="task-timeout",
                                                exit_code=TIMEOUT_EXIT_CODE))
                return
    except (RunnerUnavailable, RunnerRefused) as e:
        err = explain_unreachable(h, record, e) if isinstance(e, RunnerUnavailable) else e
        log.warning("batch execution of session %s: %s", sid, err)
        h.events.produce(SessionFailure(session_id=sid, reason="task-failed", exit_code=-1))
