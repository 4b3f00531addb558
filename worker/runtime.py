"""The composition root: `connect(settings)` builds this host's `Host`, and `host()` is this
process's one (made on first use from the environment and agent.toml)."""

from __future__ import annotations

import threading

import docker

from worker.capacity import LongWork
from worker.config import AgentSettings, load_settings
from worker.events import EventProducer
from worker.host import Host
from worker.images.pull import Puller
from worker.inference.monitor import ModelMonitor
from worker.kernel_secrets import KernelSecrets
from worker.kernels.create import pull_decided
from worker.kernels.records import save_record
from worker.metrics import AgentMetrics
from worker.pipeline.plugins import with_plugins
from worker.resources.accelerators import CUDA_SLOT, MOCK_SLOT, host_devices
from worker.resources.allocator import Allocator, HostCapacity, PortPool
from worker.runner_client import RunnerConnections
from worker.runner_files import install_runner
from worker.shared_redis.pool import shared_client
from worker.stages.builtin import builtin_stages
from worker.state.creation_slots import CreationSlots
from worker.state.db import StateDB
from worker.state.kernels import KernelRegistry, KernelState
from worker.state.model_states import ModelStates
from worker.state.network_bindings import NetworkBindings


def connect(settings: AgentSettings) -> Host:
    """This host's clients, state and pipeline (Docker and Redis connect on first use)."""
    # The threads pool shares the Docker client: size its connection pool to the pool's concurrency.
    client = docker.DockerClient.from_env(timeout=int(settings.docker_timeout),
                                          max_pool_size=settings.concurrency + 4)
    r = shared_client(settings.redis_url)  # the process's one pool, shared with Celery's broker and results
    events = EventProducer(r, settings.id, settings.events_stream, settings.events_maxlen)
    db = StateDB(settings.var_dir.resolve() / "agent.db")
    registry = KernelRegistry(db)
    network_bindings = NetworkBindings(db)
    devices = host_devices(settings)
    capacity = HostCapacity.detect(settings.reserved_cpu, settings.reserved_mem,
                                   tuple(d.device_id for d in devices if d.slot == MOCK_SLOT), settings.cpu_overcommit,
                                   tuple(d.device_id for d in devices if d.slot == CUDA_SLOT))
    allocator = Allocator(db, capacity)
    ports = PortPool(db, *settings.port_range, bind_host=settings.bind_host)
    metrics = AgentMetrics()
    metrics.count_live_kernels(lambda: len(registry.ids()))
    runners = RunnerConnections(on_connect=metrics.runner_reconnects.inc)
    puller = Puller(client, events, settings.id, settings.image_pull_timeout, on_bytes=metrics.pull_bytes.inc)
    secrets = KernelSecrets(settings.var_dir.resolve() / "secrets")
    stages = builtin_stages(settings, client, allocator, ports, puller, runners, install_runner(settings.var_dir),
                            save_record(registry), pull_decided(events), secrets, network_bindings)
    pipeline, plugins = with_plugins(stages)
    models = ModelMonitor(ModelStates(db), events,
                          lambda kernel_id: registry.state_of(kernel_id) is KernelState.RUNNING)
    return Host(settings, client, r, events, db, registry, allocator, ports,
                CreationSlots(db, settings.kernel_creation_concurrency), pipeline, plugins, runners, secrets, metrics,
                LongWork(max(1, settings.concurrency - settings.control_threads)), models, devices, network_bindings)


_current: Host | None = None
_current_lock = threading.Lock()


def host() -> Host:
    """This process's Host, made on first use."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = connect(load_settings())
    return _current


def close_host() -> None:
    """Close this process's Host (the worker's shutdown); the next `host()` makes a new one."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.close()
            _current = None
