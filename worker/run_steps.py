"""One `execute` as the runner sees it: a step of a run, its reply checked, and (streamed) the
steps of one call with their output pushed to a Redis list as it comes.

Streaming (`ExecuteReq.stream`) asks the runner for output in short steps until the run stops or
`flush_timeout` passes, and pushes each step's console to the list `output_key(task id)` (kind byte
+ data, contract/stream.py), ending with the reply. The agent holds one step (at most 1 MiB) at a
time, and the list at most MAX_BUFFERED items: when the reader falls behind, the agent waits for it
(and stops streaming, the run going on, after READER_GONE_S).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import redis
from pydantic import BaseModel

from contract.stream import encode_end, encode_item
from worker.runner_client import RunnerClient

REPLY_MARGIN = 30.0  # seconds beyond flush_timeout to wait for the runner's reply
STREAM_STEP = 0.05  # seconds the runner waits for output per step while streaming
MAX_BUFFERED = 8  # items in the output list before the agent waits for its reader
READER_GONE_S = 30.0  # seconds of a full list before the agent stops streaming
OUTPUT_TTL_S = 600  # the list expires when nobody reads it


class ExecuteReply(BaseModel):
    """What a runner must answer to `execute` (anything else from the kernel is refused)."""

    runId: str
    status: Literal["continued", "waiting-input", "finished", "clean-finished", "build-finished", "exec-timeout"]
    console: list[tuple[str, Any]]
    exitCode: int | None = None
    options: dict[str, Any] | None = None


def step(runner: RunnerClient, *, mode: str, run_id: str | None, code: str, opts: dict[str, Any],
         flush_timeout: float) -> dict[str, Any]:
    """One request to the runner; its reply, checked (ValidationError when it is not a reply)."""
    raw = runner.request("execute", timeout=flush_timeout + REPLY_MARGIN, run_id=run_id, mode=mode, code=code,
                         opts=opts, flush_timeout=flush_timeout)
    return ExecuteReply.model_validate(raw).model_dump()


def _push(r: redis.Redis, key: str, items: list[bytes]) -> bool:
    """Append to the list, then wait while its reader is behind; False when the reader is gone."""
    pipe = r.pipeline(transaction=False)
    pipe.rpush(key, *items)
    pipe.expire(key, OUTPUT_TTL_S)
    length = int(pipe.execute()[0])
    gone_at = time.monotonic() + READER_GONE_S
    while length >= MAX_BUFFERED:
        if time.monotonic() > gone_at:
            return False
        time.sleep(0.002)
        length = int(r.llen(key))
    return True


def stream_steps(r: redis.Redis, runner: RunnerClient, key: str, *, mode: str, run_id: str | None, code: str,
                 opts: dict[str, Any], flush_timeout: float) -> dict[str, Any]:
    """Steps of the run until it stops or `flush_timeout` passes, their output pushed to `key`;
    the last reply (its console empty), also pushed as the end."""
    deadline = time.monotonic() + flush_timeout
    while True:
        reply = step(runner, mode=mode, run_id=run_id, code=code, opts=opts,
                     flush_timeout=max(0.0, min(STREAM_STEP, deadline - time.monotonic())))
        reader_there = not reply["console"] or _push(r, key, [encode_item(k, d) for k, d in reply["console"]])
        reply["console"] = []
        if reply["status"] != "continued" or time.monotonic() >= deadline or not reader_there:
            break
        mode, run_id, code = "continue", reply["runId"], ""
    _push(r, key, [encode_end(reply)])
    return reply
