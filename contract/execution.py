"""Requests of the operations that run code in a kernel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictStr

from contract.common import KernelId, Request, SessionId


class ExecuteReq(Request):
    session_id: SessionId
    kernel_id: KernelId
    api_version: int = Field(default=4, ge=1)
    run_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    mode: Literal["query", "batch", "continue", "input"]
    code: StrictStr = ""
    opts: dict[str, Any] = {}
    flush_timeout: float = Field(default=2.0, ge=0, le=3600)
    # Stream the output as it comes to the Redis list contract.naming.output_key(<this task's id>)
    # instead of returning it (the reply's console is then empty): see docs/execution.md.
    stream: StrictBool = False


class GetCompletionsReq(Request):
    kernel_id: KernelId
    text: StrictStr
    opts: dict[str, Any] = {}


class StartServiceReq(Request):
    kernel_id: KernelId
    service: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    opts: dict[str, Any] = {}


class ShutdownServiceReq(Request):
    kernel_id: KernelId
    service: StrictStr


class TriggerBatchExecutionReq(Request):
    session_id: SessionId
    kernel_id: KernelId
    code: StrictStr
    timeout: float | None = Field(default=None, gt=0)
