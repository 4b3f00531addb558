"""Assertions about what the in-process agent's host holds for a kernel."""

from __future__ import annotations

import docker

from worker.runtime import host


def assert_host_clean(kernel_id: str, docker_client: docker.DockerClient) -> None:
    """Nothing of the kernel is left: container, scratch, ipc dir, record, allocation, ports, slot."""
    h = host()
    assert docker_client.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}) == []
    assert not (h.settings.scratch_dir / kernel_id).exists()
    assert not (h.settings.ipc_dir / kernel_id).exists()
    assert h.registry.find(kernel_id) is None
    assert h.allocator.of(kernel_id) is None
    assert kernel_id not in h.ports.kernels()
    assert h.slots.held() == 0
