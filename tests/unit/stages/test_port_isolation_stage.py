"""The port isolation stage on its own: only kernels on the default bridge, never a dead container,
and a port it cannot isolate fails the kernel's start (closed, not open)."""

from __future__ import annotations

import pytest

from contract.errors import KernelStartFailed
from worker.stages.port_isolation import PortIsolationSpec, PortIsolationStage


def test_a_kernel_on_a_session_network_is_left_to_its_bridge(fake_docker: object) -> None:
    assert PortIsolationStage(fake_docker).setup(PortIsolationSpec("c0", default_bridge=False)).port is None


def test_a_container_that_already_exited_has_no_port_to_isolate(fake_docker: object) -> None:
    fake_docker.api.state = {"Running": False, "ExitCode": 1, "Pid": 0}  # type: ignore[attr-defined]
    assert PortIsolationStage(fake_docker).setup(PortIsolationSpec("c0", default_bridge=True)).port is None


def test_a_port_that_cannot_be_found_fails_the_start(fake_docker: object) -> None:
    fake_docker.api.state = {"Running": True, "Pid": 2**22 + 1}  # type: ignore[attr-defined]  # no such process
    with pytest.raises(KernelStartFailed, match="bridge port could not be isolated"):
        PortIsolationStage(fake_docker).setup(PortIsolationSpec("c0", default_bridge=True))
