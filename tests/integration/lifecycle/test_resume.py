"""What the agent finishes at start: a destroy or a restart that a crash cut short."""

from __future__ import annotations

from typing import Any

import docker

from tests.support.host_state import assert_host_clean
from tests.support.lifecycle import terminated_events
from worker.kernels.resume import finish_interrupted_lifecycle
from worker.runtime import host
from worker.state.kernels import KernelState


def test_a_cut_destroy_is_finished_with_its_reason_and_a_cut_restart_is_cleaned(
        make_kernel: Any, docker_client: docker.DockerClient, events: Any) -> None:
    h = host()
    destroying, restarting, running = make_kernel(), make_kernel(), make_kernel()
    for rec, state, reason in ((destroying, KernelState.TERMINATING, "idle-timeout"),
                               (restarting, KernelState.PREPARING, "restarting")):
        rec = h.registry.get(rec.kernel_id)
        rec.state, rec.termination_reason = state, reason  # as a crash mid-way left them
        h.registry.put(rec)
    assert sorted(finish_interrupted_lifecycle(h)) == sorted([destroying.kernel_id, restarting.kernel_id])
    assert [e.payload["reason"] for e in terminated_events(events, destroying.kernel_id)] == ["idle-timeout"]
    [cut] = terminated_events(events, restarting.kernel_id)
    assert cut.payload["reason"] == "failed-to-start" and "restarting" in cut.payload["detail"]
    for k in (destroying, restarting):
        assert_host_clean(k.kernel_id, docker_client)
    assert h.registry.get(running.kernel_id).state == "running" and terminated_events(events, running.kernel_id) == []
