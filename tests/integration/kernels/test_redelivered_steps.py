"""Celery may deliver a chain step twice: each step is idempotent by kernel id."""

from __future__ import annotations

import uuid

import docker
import pytest
import redis

from contract.errors import KernelCreationFailed
from contract.kernels import CreateKernelsReq, LifecycleReason
from tests.integration.conftest import kernel_config
from tests.integration.kernels.test_create_kernels import assert_host_clean
from worker.kernels import create
from worker.kernels.destroy import destroy
from worker.runtime import host
from worker.state.kernels import KernelState


def test_provision_and_start_delivered_twice_make_one_kernel(
        worker: object, kernel_image: str, docker_client: docker.DockerClient) -> None:
    h = host()
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    req = CreateKernelsReq(raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                           raw_configs=[kernel_config(kernel_image)])
    [entry] = create.plan(h, req, result_id=None)
    try:
        first = create.provision(h, entry.ctx)
        again = create.provision(h, entry.ctx)  # the same message, delivered again
        assert again.resources["resource"] == first.resources["resource"]
        assert again.resources["service_ports"] == first.resources["service_ports"]
        started = create.start(h, again)
        restarted = create.start(h, entry.ctx)  # a stale copy of the step's input
        assert restarted.container_id == started.container_id
        containers = docker_client.containers.list(all=True, filters={"label": f"ai.backend.kernel-id={kernel_id}"})
        assert [c.id for c in containers] == [started.container_id]
        assert h.registry.get(kernel_id).state == KernelState.RUNNING
        assert h.allocator.of(kernel_id) is not None
    finally:
        destroy(h, kernel_id, session_id, LifecycleReason.USER_REQUESTED, suppress_events=True)
    assert_host_clean(kernel_id, docker_client)


def test_a_redis_error_before_the_start_step_tears_the_provisioned_kernel_down(
        worker: object, kernel_image: str, docker_client: docker.DockerClient) -> None:
    """The start step asks Redis whether recovery already settled the creation; when Redis fails
    to answer, the kernel its provision step made is torn down, not left half-made."""
    h = host()
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    req = CreateKernelsReq(raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                           raw_configs=[kernel_config(kernel_image)])
    plan = create.plan(h, req, result_id=f"creation-{kernel_id}")
    [provisioned] = create.provision_all(h, plan, settled=lambda _: False)
    assert provisioned.error is None
    assert h.registry.find(kernel_id) is not None and h.allocator.of(kernel_id) is not None

    def redis_gone(_: str) -> bool:
        raise redis.ConnectionError("Redis went away")  # fault injection: the settled check

    try:
        with pytest.raises(KernelCreationFailed, match="ConnectionError: Redis went away"):
            create.start_all(h, [provisioned], settled=redis_gone)
        assert_host_clean(kernel_id, docker_client)
    finally:
        if h.registry.find(kernel_id) is not None:
            destroy(h, kernel_id, session_id, LifecycleReason.USER_REQUESTED, suppress_events=True)
