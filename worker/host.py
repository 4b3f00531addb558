"""`Host`: everything the agent's logic needs on this host, passed as one object.

Settings, the Docker and Redis clients, the events producer, the state database with the kernel
registry, allocations, host ports, creation slots and network bindings, and the creation pipeline. It is a plain
record: worker/runtime.py builds it; stages never see it (they get what they need when made).
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
import redis

from contract.pipeline import PluginInfo
from worker.capacity import LongWork
from worker.config import AgentSettings
from worker.events import EventProducer
from worker.inference.monitor import ModelMonitor
from worker.kernel_secrets import KernelSecrets
from worker.metrics import AgentMetrics
from worker.pipeline.graph import Pipeline
from worker.resources.accelerators import Device
from worker.resources.allocator import Allocator, PortPool
from worker.runner_client import RunnerConnections
from worker.state.creation_slots import CreationSlots
from worker.state.db import StateDB
from worker.state.kernels import KernelRegistry
from worker.state.network_bindings import NetworkBindings


@dataclass
class Host:
    settings: AgentSettings
    docker: docker.DockerClient
    redis: redis.Redis
    events: EventProducer
    db: StateDB
    registry: KernelRegistry
    allocator: Allocator
    ports: PortPool
    slots: CreationSlots
    pipeline: Pipeline
    plugins: list[PluginInfo]  # stage plugins found at start, added or skipped
    runners: RunnerConnections
    secrets: KernelSecrets
    metrics: AgentMetrics
    long_work: LongWork  # slots of the threads pool that long tasks may hold (worker/capacity.py)
    models: ModelMonitor  # the health of inference kernels' model services
    devices: list[Device]  # accelerator devices (GPUs found through NVML, mock ones)
    network_bindings: NetworkBindings  # which session each session network belongs to

    def close(self) -> None:
        """Close the connections this host holds."""
        self.runners.close_all()
        self.docker.close()
        self.events.close()  # gives events still waiting for Redis a few seconds
        self.redis.close()
