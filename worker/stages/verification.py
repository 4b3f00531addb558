"""ContainerVerification: the kernel's runner answers its `status` handshake in time, and from then
on its socket is out of the kernel user's reach.

The handshake notes the runner's pid (SO_PEERCRED), which every later connection must match, and
hands the kernel's ipc dir to root (0755): the runner keeps listening on its socket, but user code
can no longer remove or replace it (with a link or a server of its own). Teardown (a restart)
gives the dir back to the kernel's user for the next runner.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import docker
from pydantic import BaseModel

from contract.errors import KernelStartFailed
from worker.config import AgentSettings
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.runner_client import RunnerConnections, RunnerUnavailable, handshake
from worker.stages.container import ContainerCreationStage

SOCKET_NAME = "runner.sock"


@dataclass(frozen=True)
class VerificationSpec:
    container_id: str
    ipc_dir: Path
    uid: int
    gid: int
    timeout: float

    @property
    def socket_path(self) -> Path:
        return self.ipc_dir / SOCKET_NAME


class RunnerIdentity(BaseModel):
    """The runner that answered: its pid (as the agent sees it), and whose ipc dir was locked."""

    pid: int | None = None
    ipc_dir: Path | None = None
    uid: int = 0
    gid: int = 0


def lock_ipc_dir(ipc_dir: Path) -> None:
    """root:root 0755: the runner's socket stays, the kernel's user can no longer change the dir."""
    if os.geteuid() == 0:
        os.chown(ipc_dir, 0, 0, follow_symlinks=False)
    os.chmod(ipc_dir, 0o755, follow_symlinks=False)


def reopen_ipc_dir(ipc_dir: Path, uid: int, gid: int) -> None:
    """The dir back to the kernel's user (0700), without the old runner's socket."""
    with contextlib.suppress(FileNotFoundError):
        (ipc_dir / SOCKET_NAME).unlink()
    if os.geteuid() == 0:
        os.chown(ipc_dir, uid, gid, follow_symlinks=False)
    os.chmod(ipc_dir, 0o700, follow_symlinks=False)


class ContainerVerificationStage(Stage[VerificationSpec, RunnerIdentity]):
    """Waits for the runner's handshake; a container that exits or a runner that stays silent past
    the timeout is a start failure."""

    name = "container_verification"
    resource_type = RunnerIdentity
    step = "start"
    requires = ("container", "runner_ipc")
    provides = ("runner",)
    poll_interval = 0.02

    def __init__(self, client: docker.DockerClient, settings: AgentSettings, connections: RunnerConnections) -> None:
        self._docker = client
        self._settings = settings
        self._connections = connections

    def spec(self, ctx: KernelContext) -> VerificationSpec:
        container_id = ctx.output(ContainerCreationStage).container_id or ""
        return VerificationSpec(container_id, ctx.ipc_dir, ctx.uid, ctx.gid, self._settings.runner_handshake_timeout)

    def setup(self, spec: VerificationSpec) -> RunnerIdentity:
        deadline = time.monotonic() + spec.timeout
        next_state_check = 0.0
        while True:
            if spec.socket_path.exists():
                try:
                    pid = handshake(self._connections, spec.socket_path, max(0.5, deadline - time.monotonic()))
                    lock_ipc_dir(spec.ipc_dir)
                    return RunnerIdentity(pid=pid, ipc_dir=spec.ipc_dir, uid=spec.uid, gid=spec.gid)
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

    def teardown(self, resource: RunnerIdentity) -> None:
        if resource.ipc_dir is None:
            return
        self._connections.close(resource.ipc_dir / SOCKET_NAME)
        if resource.ipc_dir.is_dir():
            reopen_ipc_dir(resource.ipc_dir, resource.uid, resource.gid)
