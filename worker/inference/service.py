"""A kernel's model services through its runner: start one, check its health (from inside the
kernel), stop one, and wait for one to become healthy."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from contract.errors import KernelStartFailed
from contract.inference import ModelConfig, ModelDefinition
from contract.kernels import KernelCreationConfig
from worker.runner_client import RunnerClient, RunnerRefused, RunnerUnavailable

STARTUP_POLL = 0.2  # seconds between health checks while a service starts
CHECK_MARGIN = 2.0  # seconds beyond a check's own timeout to wait for the runner's answer


class CheckResult(BaseModel):
    alive: bool
    healthy: bool
    status: int | None = None
    exit_code: int | None = None
    error: str | None = None


def served_models(config: KernelCreationConfig, internal_data: dict[str, Any]) -> list[ModelConfig]:
    """The models an inference kernel serves (none for other kernels, or a sub kernel of a cluster)."""
    raw = internal_data.get("model_definition")
    if config.session_type != "inference" or raw is None or config.cluster_role not in ("main", "master"):
        return []
    return ModelDefinition.model_validate(raw).served()


def start(runner: RunnerClient, model: ModelConfig) -> None:
    """Run the model's pre-start actions and start its service; KernelStartFailed if that fails."""
    assert model.service is not None
    try:
        reply = runner.request("start-model-service", timeout=model_start_timeout(model), name=model.name,
                               model_path=model.model_path, service=model.service.model_dump())
    except (RunnerUnavailable, RunnerRefused) as e:
        raise KernelStartFailed(f"model service {model.name} did not start: {e}") from None
    if reply.get("status") not in ("started", "running"):
        raise KernelStartFailed(f"model service {model.name} did not start: {str(reply.get('error'))[:500]}")


def model_start_timeout(model: ModelConfig) -> float:
    assert model.service is not None
    return 30.0 + sum(float(a.args.get("timeout", 0)) for a in model.service.pre_start_actions)


def check(runner: RunnerClient, model: ModelConfig) -> CheckResult:
    """One health check of the model's service, made by the runner inside the kernel."""
    assert model.service is not None and model.service.health_check is not None
    hc = model.service.health_check
    try:
        reply = runner.request("check-model-service", timeout=hc.timeout + CHECK_MARGIN, name=model.name,
                               port=model.service.port, path=hc.path, timeout_s=hc.timeout,
                               expected_status_code=hc.expected_status_code)
    except (RunnerUnavailable, RunnerRefused) as e:
        return CheckResult(alive=False, healthy=False, error=f"the kernel's runner did not answer: {e}")
    reply.pop("ok", None)
    try:
        return CheckResult.model_validate(reply)
    except ValueError:
        return CheckResult(alive=False, healthy=False, error="the kernel's runner gave a malformed health answer")


def wait_healthy(runner: RunnerClient, model: ModelConfig) -> None:
    """Until the model's service answers its health check; KernelStartFailed past its max wait."""
    assert model.service is not None
    hc = model.service.health_check
    if hc is None:
        return
    deadline = time.monotonic() + hc.max_wait_time
    while True:
        result = check(runner, model)
        if result.healthy:
            return
        if not result.alive:
            raise KernelStartFailed(f"model service {model.name} died before it became healthy: {result.error}")
        if time.monotonic() >= deadline:
            raise KernelStartFailed(f"model service {model.name} did not become healthy within "
                                    f"{hc.max_wait_time:g} s: {result.error}")
        time.sleep(min(STARTUP_POLL, max(0.0, deadline - time.monotonic())))


def stop(runner: RunnerClient, name: str) -> None:
    runner.request("stop-model-service", timeout=15.0, name=name)
