"""start_service / shutdown_service with the image's `http-server` service (python3 -m http.server)."""

from __future__ import annotations

import logging
import urllib.request

import pytest

from agent_client.client import AgentClient
from worker.state.kernels import KernelRecord

SHUTDOWN_LOG = "unhandled exception while shutting down service app"


def reachable(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def service_processes(client: AgentClient, k: KernelRecord) -> int:
    """How many processes in the kernel run http.server (read from /proc inside the kernel)."""
    code = ("import glob\nprint(sum(b'http.server' in open(p, 'rb').read() "
            "for p in glob.glob('/proc/[0-9]*/cmdline')))")
    r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="query", code=code)
    return int(r["console"][0][1])


def test_service_starts_is_reachable_on_its_host_port_and_shuts_down(
        client: AgentClient, own_kernel: KernelRecord, caplog: pytest.LogCaptureFixture) -> None:
    (own_kernel.work_dir / "index.html").write_text("served from the kernel")
    host_port = own_kernel.service_ports[0]["host_ports"][0]
    r = client.call("start_service", kernel_id=own_kernel.kernel_id, service="http-server", opts={})
    assert r == {"status": "started", "host_ports": [host_port]}
    with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/index.html", timeout=5) as resp:
        assert resp.read() == b"served from the kernel"
    again = client.call("start_service", kernel_id=own_kernel.kernel_id, service="http-server", opts={})
    assert again["status"] == "running"

    assert service_processes(client, own_kernel) == 1
    with caplog.at_level(logging.INFO):
        assert client.call("shutdown_service", kernel_id=own_kernel.kernel_id, service="http-server") is None
        assert not reachable(host_port)
        assert service_processes(client, own_kernel) == 0
        # Scenario 4: an already stopped service stays stopped, nothing is raised or logged as an error.
        assert client.call("shutdown_service", kernel_id=own_kernel.kernel_id, service="http-server") is None
    assert not reachable(host_port)
    assert SHUTDOWN_LOG not in caplog.text


def test_shutdown_of_a_service_that_never_ran_logs_and_returns_nothing(
        client: AgentClient, shared_kernel: KernelRecord, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert client.call("shutdown_service", kernel_id=shared_kernel.kernel_id,
                           service="ghost_service_B") is None
    assert SHUTDOWN_LOG in caplog.text and "ghost_service_B" in caplog.text


def test_shutdown_in_an_unknown_kernel_logs_and_returns_nothing(client: AgentClient,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert client.call("shutdown_service", kernel_id="00000000-0000-0000-0000-0000000000cc",
                           service="any_service_C") is None
    assert SHUTDOWN_LOG in caplog.text


def test_start_of_an_undeclared_service_fails_without_starting_anything(client: AgentClient,
                                                                       shared_kernel: KernelRecord) -> None:
    r = client.call("start_service", kernel_id=shared_kernel.kernel_id, service="jupyter", opts={})
    assert r == {"status": "failed", "error": "invalid service name: jupyter"}
