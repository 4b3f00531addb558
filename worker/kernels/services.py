"""What kernel creation and destruction need from the host, gathered in one object."""

from __future__ import annotations

from dataclasses import dataclass

import docker

from worker.config import AgentSettings
from worker.events import EventProducer
from worker.images.pull import Puller
from worker.kernels.pipeline import Pipeline, build_pipeline
from worker.resources.allocator import Allocator, HostCapacity, PortPool
from worker.state.creation_slots import CreationSlots
from worker.state.db import StateDB
from worker.state.kernels import KernelRegistry


@dataclass
class KernelServices:
    settings: AgentSettings
    docker: docker.DockerClient
    registry: KernelRegistry
    events: EventProducer
    allocator: Allocator
    ports: PortPool
    slots: CreationSlots
    pipeline: Pipeline

    @classmethod
    def build(cls, settings: AgentSettings, client: docker.DockerClient, db: StateDB,
              registry: KernelRegistry, events: EventProducer) -> KernelServices:
        capacity = HostCapacity.detect(settings.reserved_cpu, settings.reserved_mem,
                                       tuple(d.device_id for d in settings.mock_devices))
        allocator = Allocator(db, capacity)
        ports = PortPool(db, *settings.port_range, bind_host=settings.bind_host)
        return cls(settings, client, registry, events, allocator, ports,
                   CreationSlots(db, settings.kernel_creation_concurrency),
                   build_pipeline(settings, client, registry, allocator, ports,
                                  Puller(client, events, settings.id, settings.image_pull_timeout)))
