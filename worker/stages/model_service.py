"""ModelService: an inference kernel's model services, started by its runner once the container
is verified (after their pre-start actions, each in its own process group) and waited for until
healthy. One that never becomes healthy within its max wait fails the start (`failed-to-start`,
the kernel cleaned like any failed start). Costs nothing for other kernels. Its ports and
BACKEND_MODEL_* variables come from the service-ports and environ stages."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from contract.inference import ModelConfig
from worker.inference import service
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.runner_client import RunnerClient, RunnerConnections, RunnerRefused, RunnerUnavailable
from worker.stages.verification import SOCKET_NAME, ContainerVerificationStage


@dataclass(frozen=True)
class ModelServiceSpec:
    socket_path: Path
    runner_pid: int | None
    models: list[ModelConfig]


class StartedModels(BaseModel):
    socket_path: Path | None = None
    runner_pid: int | None = None
    names: list[str] = []


class ModelServiceStage(Stage[ModelServiceSpec, StartedModels]):
    name = "model_service"
    resource_type = StartedModels
    step = "start"
    requires = ("runner",)
    provides = ("model_services",)

    def __init__(self, connections: RunnerConnections) -> None:
        self._connections = connections

    def spec(self, ctx: KernelContext) -> ModelServiceSpec:
        runner = ctx.output(ContainerVerificationStage)
        return ModelServiceSpec(ctx.ipc_dir / SOCKET_NAME, runner.pid,
                                service.served_models(ctx.kernel_config, ctx.internal_data))

    def setup(self, spec: ModelServiceSpec) -> StartedModels:
        if not spec.models:
            return StartedModels()
        runner = RunnerClient(spec.socket_path, self._connections, spec.runner_pid)
        started = StartedModels(socket_path=spec.socket_path, runner_pid=spec.runner_pid)
        try:
            for model in spec.models:
                service.start(runner, model)
                started.names.append(model.name)
            for model in spec.models:
                service.wait_healthy(runner, model)
        except BaseException:
            self.teardown(started)
            raise
        return started

    def teardown(self, resource: StartedModels) -> None:
        if resource.socket_path is None:
            return
        runner = RunnerClient(resource.socket_path, self._connections, resource.runner_pid)
        for name in resource.names:
            with contextlib.suppress(RunnerUnavailable, RunnerRefused):  # the container may be gone already
                service.stop(runner, name)
