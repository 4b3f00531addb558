"""Assertions about what the in-process agent's host holds for a kernel."""

from __future__ import annotations

import docker

from worker.runtime import host
from worker.scratch_mounts import image_path


def assert_host_clean(kernel_id: str, docker_client: docker.DockerClient) -> None:
    """Nothing of the kernel is left: container, scratch (its mount and hostfile), ipc dir, record,
    allocation, ports, network binding, slot."""
    h = host()
    assert docker_client.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"}) == []
    assert not (h.settings.scratch_dir / kernel_id).exists()  # a mount point cannot be removed: unmounted
    assert not image_path(h.settings.scratch_dir / kernel_id).exists()
    assert not (h.settings.ipc_dir / kernel_id).exists()
    assert h.registry.find(kernel_id) is None
    assert h.allocator.of(kernel_id) is None
    assert kernel_id not in h.ports.kernels()
    assert kernel_id not in h.network_bindings.kernels()
    assert h.slots.held() == 0
