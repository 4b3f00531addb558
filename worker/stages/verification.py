"""ContainerVerification: the kernel's runner answers its `status` handshake in time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import docker

from contract.errors import KernelStartFailed
from worker.config import AgentSettings
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Nothing, Stage
from worker.runner_client import RunnerClient, RunnerUnavailable
from worker.stages.container import ContainerCreationStage


@dataclass(frozen=True)
class VerificationSpec:
    container_id: str
    socket_path: Path
    timeout: float


class ContainerVerificationStage(Stage[VerificationSpec, Nothing]):
    """Waits for the runner's handshake; a container that exits or a runner that stays silent past
    the timeout is a start failure."""

    name = "container_verification"
    resource_type = Nothing
    step = "start"
    requires = ("container", "runner_ipc")
    provides = ("runner",)
    poll_interval = 0.02

    def __init__(self, client: docker.DockerClient, settings: AgentSettings) -> None:
        self._docker = client
        self._settings = settings

    def spec(self, ctx: KernelContext) -> VerificationSpec:
        container_id = ctx.output(ContainerCreationStage).container_id or ""
        return VerificationSpec(container_id, ctx.ipc_dir / "runner.sock", self._settings.runner_handshake_timeout)

    def setup(self, spec: VerificationSpec) -> Nothing:
        deadline = time.monotonic() + spec.timeout
        runner = RunnerClient(spec.socket_path)
        next_state_check = 0.0
        while True:
            if spec.socket_path.exists():
                try:
                    runner.request("status", timeout=max(0.5, deadline - time.monotonic()))
                    return Nothing()
                except RunnerUnavailable:
                    pass
            now = time.monotonic()
            if now >= next_state_check:  # the container may have died: say so instead of waiting
                state = self._docker.api.inspect_container(spec.container_id)["State"]
                if not state["Running"]:
                    logs = self._docker.api.logs(spec.container_id, tail=20).decode(errors="replace").strip()
                    raise KernelStartFailed(f"kernel container exited with code {state['ExitCode']} before its "
                                            f"runner answered: {logs[-500:] or '(no output)'}")
                next_state_check = now + 0.25
            if now >= deadline:
                raise KernelStartFailed(f"kernel runner did not answer its handshake within {spec.timeout:g} s")
            time.sleep(self.poll_interval)
