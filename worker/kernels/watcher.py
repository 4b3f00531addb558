"""The Docker events watcher: a thread that reads Docker's event stream for this agent's containers
and cleans a kernel whose container died by itself (kernel_terminated self-terminated, its exit
code, and detail "oom-killed" after an OOM kill).

Kernels that are being created, restarted or destroyed are not RUNNING, so their containers'
deaths are ignored here (their own code reports them). `stop()` closes the stream to unblock the
thread. A broken stream is reopened from the last event's time, so nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import docker
from docker.errors import DockerException, NotFound

from contract.kernels import LifecycleReason
from worker.kernels.destroy import clean_dead_kernel
from worker.stages.container import KERNEL_ID_LABEL, OWNER_LABEL
from worker.state.kernels import KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)

OOM_DETAIL = "oom-killed: the container ran out of memory"
RECONNECT_DELAY = 1.0
# A container's death is the OOM killer's when it was SIGKILLed (137) this soon after an OOM kill in
# it: the runner survives the OOM kills of user processes, so an old one explains nothing.
OOM_WINDOW_S = 5.0
KILLED = 137


class DockerEventWatcher:
    """Watches `die` and `oom` events of containers labelled with `agent_id` as their owner."""

    def __init__(self, agent_id: str, services: Callable[[], Host],
                 docker_client: Callable[[], docker.DockerClient] = docker.DockerClient.from_env) -> None:
        self._agent_id = agent_id
        self._services = services
        self._docker_client = docker_client
        self._stopping = threading.Event()
        self._stream: Any = None
        self._client: docker.DockerClient | None = None
        self._oom: dict[str, float] = {}  # container id -> time of its last OOM kill
        self._workers = ThreadPoolExecutor(4, thread_name_prefix="kernel-death")
        self._thread = threading.Thread(target=self._run, name="docker-events", daemon=True)
        self._since = time.time()
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        self._thread.join(timeout)
        self._workers.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._watch()
            except (DockerException, OSError, ValueError) as e:  # the engine restarted, a broken stream
                if not self._stopping.is_set():
                    log.warning("docker event stream broke (%s); reopening", e)
            self.connected.clear()
            self._stopping.wait(RECONNECT_DELAY)

    def _watch(self) -> None:
        if self._client is None:
            self._client = self._docker_client()
        filters = {"type": "container", "event": ["die", "oom"], "label": [f"{OWNER_LABEL}={self._agent_id}"]}
        self._stream = self._client.events(decode=True, filters=filters, since=int(self._since))
        if self._stopping.is_set():  # stop() came before the stream existed
            self._stream.close()
            return
        self.connected.set()
        for event in self._stream:
            self._since = float(event.get("time", self._since))
            self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        actor = event.get("Actor", {})
        container_id = actor.get("ID", "")
        attrs = actor.get("Attributes", {})
        kernel_id = attrs.get(KERNEL_ID_LABEL)
        if not kernel_id:
            return
        if event.get("Action") == "oom":
            self._oom[container_id] = time.monotonic()
            return
        if event.get("Action") == "die":
            exit_code = int(attrs.get("exitCode", 255))
            self._workers.submit(self._on_death, kernel_id, container_id, exit_code)

    def _on_death(self, kernel_id: str, container_id: str, exit_code: int) -> None:
        try:
            rec = self._services().registry.find(kernel_id)
            last_oom = self._oom.pop(container_id, None)
            if rec is None or rec.state is not KernelState.RUNNING:  # destroyed, restarting: not ours
                return
            recent = last_oom is not None and time.monotonic() - last_oom < OOM_WINDOW_S
            oom = exit_code == KILLED and (recent or self._oom_killed(container_id))
            clean_dead_kernel(self._services(), kernel_id, exit_code, LifecycleReason.SELF_TERMINATED,
                              OOM_DETAIL if oom else None, container_id=container_id)
        except Exception:
            log.exception("cleaning kernel %s after its container died failed", kernel_id)

    def _oom_killed(self, container_id: str) -> bool:
        """Docker's own record (the `oom` event may come after `die`, or not at all with cgroup v2)."""
        try:
            return bool(self._services().docker.api.inspect_container(container_id)["State"]["OOMKilled"])
        except (NotFound, KeyError):
            return False
