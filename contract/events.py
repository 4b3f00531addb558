"""Every domain event the agent produces (the payloads of the `events` stream). `name` is the wire name."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import BaseModel, Field


class AgentEvent(BaseModel):
    """Base of all events; subclasses set `name`."""

    name: ClassVar[str]
    timestamp: float = Field(default_factory=time.time)


# agent domain
class AgentStarted(AgentEvent):
    name = "agent_started"
    reason: str = "started"


class AgentTerminated(AgentEvent):
    name = "agent_terminated"
    reason: str = "shutdown"


class AgentHeartbeat(AgentEvent):
    name = "agent_heartbeat"
    agent_info: dict[str, Any]


class DoAgentResourceCheck(AgentEvent):
    name = "do_agent_resource_check"
    agent_id: str


# kernel domain
class KernelEvent(AgentEvent):
    kernel_id: str
    session_id: str


class KernelPreparing(KernelEvent):
    name = "kernel_preparing"


class KernelPulling(KernelEvent):
    name = "kernel_pulling"
    reason: str  # the image being pulled


class KernelCreating(KernelEvent):
    name = "kernel_creating"


class KernelStage(KernelEvent):
    """One creation stage finished (progress of a creation, for managers and `agentctl kernel create`)."""

    name = "kernel_stage"
    stage: str
    seconds: float


class KernelStarted(KernelEvent):
    name = "kernel_started"
    creation_info: dict[str, Any]


class ModelServiceStatus(KernelEvent):
    """A model service of an inference kernel became healthy or unhealthy."""

    name = "model_service_status"
    model_name: str
    healthy: bool
    since: float
    last_error: str | None = None


class KernelTerminated(KernelEvent):
    name = "kernel_terminated"
    reason: str
    exit_code: int = -1
    detail: str | None = None


# image domain
class ImageEvent(AgentEvent):
    image: str
    agent_id: str


class ImagePullStarted(ImageEvent):
    name = "image_pull_started"


class ImagePullProgress(ImageEvent):
    name = "image_pull_progress"
    current_bytes: int
    total_bytes: int
    layers_done: int
    layers_total: int


class ImagePullFinished(ImageEvent):
    name = "image_pull_finished"
    msg: str | None = None


class ImagePullFailed(ImageEvent):
    name = "image_pull_failed"
    msg: str


# session domain
class SessionEvent(AgentEvent):
    session_id: str


class ExecutionStarted(SessionEvent):
    name = "execution_started"


class ExecutionFinished(SessionEvent):
    name = "execution_finished"


class ExecutionTimeout(SessionEvent):
    name = "execution_timeout"


class ExecutionCancelled(SessionEvent):
    name = "execution_cancelled"


class SessionSuccess(SessionEvent):
    name = "session_success"
    reason: str
    exit_code: int


class SessionFailure(SessionEvent):
    name = "session_failure"
    reason: str
    exit_code: int
