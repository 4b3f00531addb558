"""Running code in a kernel: execute, interrupt, completions and ping, through the kernel's runner.

The runner holds every run's state and output buffer (runner/runs.py); the agent keeps nothing
per run in memory, so any worker thread, or a restarted agent, can `continue` any run.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import docker.errors
from pydantic import ValidationError

from contract.errors import CodeTooLarge, KernelNotFound, KernelUnavailable
from contract.events import (
    ExecutionCancelled,
    ExecutionFinished,
    ExecutionStarted,
    ExecutionTimeout,
)
from contract.execution import ExecuteReq, GetCompletionsReq
from contract.kernels import LifecycleReason
from worker.host import Host
from worker.kernels.destroy import clean_dead_kernel
from worker.run_steps import step, stream_steps
from worker.runner_client import RunnerClient, RunnerUnavailable
from worker.state.kernels import KernelRecord, KernelState

log = logging.getLogger(__name__)

def runner_of(h: Host, record: KernelRecord) -> RunnerClient:
    """The kernel's runner, through this host's connections, checked to be the process of its handshake."""
    return RunnerClient(record.runner_socket, h.runners, record.runner_pid)


def check_code_size(h: Host, text: str, what: str = "code") -> None:
    size = len(text.encode())
    if size > h.settings.max_code_size:
        raise CodeTooLarge(f"{what} is {size} bytes, over max_code_size ({h.settings.max_code_size} bytes)")


def runnable_kernel(h: Host, kernel_id: str) -> KernelRecord:
    """The kernel's record (brief: without its creation context) if code can be sent to it;
    KernelUnavailable (a RuntimeError) if not."""
    try:
        record = h.registry.get_brief(kernel_id)
    except KernelNotFound as e:
        raise KernelUnavailable(str(e)) from None
    if record.state is not KernelState.RUNNING:
        raise KernelUnavailable(f"kernel {kernel_id} is {record.state.value}, not running")
    return record


def explain_unreachable(h: Host, record: KernelRecord, err: Exception) -> Exception:
    """Why the runner did not answer: a dead container gets its kernel cleaned (kernel_terminated) and a
    clear error."""
    state: dict[str, Any] | None = None
    if record.container_id:
        try:
            state = h.docker.containers.get(record.container_id).attrs["State"]
        except docker.errors.NotFound:
            state = None
    if state is not None and state.get("Running"):
        return err
    exit_code = int(state.get("ExitCode", -1)) if state else -1
    # the kernel is cleaned and announced once, here or by the Docker events watcher, whichever is first
    clean_dead_kernel(h, record.kernel_id, exit_code,
                      LifecycleReason.SELF_TERMINATED if state else LifecycleReason.CONTAINER_NOT_FOUND,
                      container_id=record.container_id)
    what = "is gone" if state is None else f"has exited with code {exit_code}"
    return KernelUnavailable(f"kernel {record.kernel_id} cannot run code: its container {what}")


# Asks for a kernel to be destroyed later, off this thread (kernel id, session id, reason).
DestroyLater = Callable[[str, str, LifecycleReason], None]


def execute(h: Host, req: ExecuteReq, destroy_later: DestroyLater, output_key: str | None = None) -> dict[str, Any]:
    """One step of a run: start (query/batch), feed input, or continue; returns the runner's result
    (with `stream`, its output goes to the list `output_key` as it comes: worker/run_steps.py).
    A run past its exec timeout gets its kernel destroyed (through `destroy_later`).

    execution_started carries the time the call started and goes out with the call's outcome
    (execution_finished, _timeout or _cancelled): one Redis round trip on the hot path, not two."""
    check_code_size(h, req.code)
    record = runnable_kernel(h, req.kernel_id)
    session_id = req.session_id
    began = ExecutionStarted(session_id=session_id)
    runner = runner_of(h, record)
    started = time.perf_counter()
    try:
        if req.stream and output_key is not None:
            reply = stream_steps(h.redis, runner, output_key, mode=req.mode, run_id=req.run_id, code=req.code,
                                 opts=req.opts, flush_timeout=req.flush_timeout)
        else:
            reply = step(runner, mode=req.mode, run_id=req.run_id, code=req.code, opts=req.opts,
                         flush_timeout=req.flush_timeout)
    except RunnerUnavailable as e:
        h.events.produce_all([began, ExecutionCancelled(session_id=session_id)])
        raise explain_unreachable(h, record, e) from None
    except ValidationError:
        h.events.produce_all([began, ExecutionCancelled(session_id=session_id)])
        raise KernelUnavailable(f"kernel {record.kernel_id}'s runner answered execute with a malformed reply") from None
    h.metrics.execute_seconds.labels(req.mode).observe(time.perf_counter() - started)
    status = reply["status"]
    if status == "finished":
        h.events.produce_all([began, ExecutionFinished(session_id=session_id)])
    elif status == "exec-timeout":
        h.events.produce_all([began, ExecutionTimeout(session_id=session_id)])
        destroy_later(record.kernel_id, record.session_id, LifecycleReason.EXEC_TIMEOUT)
    else:
        h.events.produce(began)
    reply["files"] = []  # kept for API backward-compatibility
    return reply


def cancel_run(h: Host, kernel_id: str) -> bool:
    """Kill the kernel's current run and drop its output; False when there was none."""
    record = runnable_kernel(h, kernel_id)
    return bool(runner_of(h, record).request("cancel").get("cancelled"))


def interrupt(h: Host, kernel_id: str) -> None:
    """KeyboardInterrupt in the running query code (SIGINT to a batch command); the kernel stays."""
    record = h.registry.get(kernel_id)
    try:
        runner_of(h, record).request("interrupt")
    except RunnerUnavailable as e:
        raise explain_unreachable(h, record, e) from None


def completions(h: Host, req: GetCompletionsReq) -> dict[str, Any]:
    """Names that complete the end of `text`, from the kernel's live namespace."""
    check_code_size(h, req.text, "text")
    record = h.registry.get(req.kernel_id)
    try:
        runner = runner_of(h, record)
        reply = runner.request("complete", timeout=15.0, text=req.text, opts=req.opts)
    except RunnerUnavailable as e:
        log.warning("completion in kernel %s failed: %s", req.kernel_id, e)
        return {"status": "failed", "error": str(e), "suggestions": []}
    return {"status": reply["status"], "suggestions": reply["suggestions"]}


def ping(h: Host, kernel_id: str) -> dict[str, Any] | None:
    """The runner's start time, the round trip in seconds and (for an inference kernel) its model
    services' health; None when it does not answer."""
    record = h.registry.find(kernel_id)
    if record is None:
        log.info("ping_kernel: kernel %s is not known here", kernel_id)
        return None
    t0 = time.perf_counter()
    try:
        reply = runner_of(h, record).request("status", timeout=5.0)
    except RunnerUnavailable as e:
        log.info("ping_kernel: %s", e)
        return None
    rtt = time.perf_counter() - t0
    try:
        started_at = float(reply["started_at"])
    except (KeyError, TypeError, ValueError):
        return None  # not what a runner answers
    result: dict[str, Any] = {"started_at": started_at, "rtt": rtt}
    if models := h.models.states(kernel_id):
        result["models"] = [m.model_dump() for m in models]
    return result


def container_logs(h: Host, kernel_id: str) -> dict[str, Any]:
    """The end of what the kernel's container wrote to stdout and stderr: at most `max_logs_size`
    bytes (`truncated` says when there was more), read as a stream so memory stays bounded."""
    record = h.registry.get(kernel_id)
    if not record.container_id:
        raise KernelUnavailable(f"kernel {kernel_id} has no container yet")
    limit = h.settings.max_logs_size
    kept: deque[bytes] = deque()
    size, truncated = 0, False
    try:
        for chunk in h.docker.api.logs(record.container_id, stdout=True, stderr=True, stream=True, follow=False):
            kept.append(chunk)
            size += len(chunk)
            while size - len(kept[0]) >= limit:
                size -= len(kept.popleft())
                truncated = True
    except docker.errors.NotFound:
        gone = record.container_id[:12]
        raise KernelUnavailable(f"kernel {kernel_id}'s container {gone} is gone") from None
    raw = b"".join(kept)
    if len(raw) > limit:
        raw, truncated = raw[-limit:], True
    return {"logs": raw.decode("utf-8", "replace"), "truncated": truncated}
