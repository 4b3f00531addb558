"""Assertions about what the in-process agent's host holds for a kernel."""

from __future__ import annotations

import docker

from worker.host import host


def assert_host_clean(kernel_id: str, docker_client: docker.DockerClient) -> None:
    """Nothing of the kernel is left: container, scratch, ipc dir, record, allocation, ports, slot."""
    svc = host().kernels
    assert docker_client.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}) == []
    assert not (svc.settings.scratch_dir / kernel_id).exists()
    assert not (svc.settings.ipc_dir / kernel_id).exists()
    assert svc.registry.find(kernel_id) is None
    assert svc.allocator.of(kernel_id) is None
    assert kernel_id not in svc.ports.kernels()
    assert svc.slots.held() == 0
