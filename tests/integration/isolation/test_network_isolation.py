"""Kernels of different sessions cannot reach each other by network, attacked from inside real
kernels; the host still reaches published service ports, kernels still reach the host's network,
and the kernels of one cluster session still resolve and reach each other."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.isolation.conftest import address_of, probe, start_http_server
from worker.config import AgentSettings
from worker.state.kernels import KernelRecord


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def host_reaches(bind_host: str, port: int) -> int:
    with urllib.request.urlopen(f"http://{bind_host}:{port}/", timeout=5) as r:
        return int(r.status)


def gateway_of(docker_client: docker.DockerClient, k: KernelRecord) -> str:
    """The host's address on the kernel's bridge."""
    [endpoint] = docker_client.containers.get(k.container_id).attrs["NetworkSettings"]["Networks"].values()
    return str(endpoint["Gateway"])


def port_isolated(k: KernelRecord) -> bool:
    """The host end of the kernel's veth is flagged isolated on its bridge."""
    port = k.config["resources"]["port_isolation"]["port"]
    return Path(f"/sys/class/net/{port}/brport/isolated").read_text().strip() == "1"


@pytest.fixture
def host_server() -> Iterator[Callable[[str], str]]:
    """`host_server(address)`: the URL of an HTTP server on the host, listening on `address`."""
    servers: list[http.server.HTTPServer] = []

    def start(gateway: str) -> str:
        server = http.server.HTTPServer((gateway, 0), Ok)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{gateway}:{server.server_port}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_a_single_kernel_cannot_reach_another_sessions_kernel_but_the_host_and_the_outside_work(
        client: AgentClient, make_kernel: Any, docker_client: docker.DockerClient, settings: AgentSettings,
        host_server: Callable[[str], str]) -> None:
    victim, attacker = make_kernel(), make_kernel()
    port = start_http_server(client, victim)
    network, victim_ip = address_of(docker_client, victim)
    assert network == "bridge" == address_of(docker_client, attacker)[0]
    assert port_isolated(victim) and port_isolated(attacker)

    assert host_reaches(settings.bind_host, port) == 200  # the published service port
    assert probe(client, victim, "http://127.0.0.1:8080/") == "reached 200"  # the server does answer
    assert probe(client, attacker, f"http://{victim_ip}:8080/").startswith("failed")
    gateway = gateway_of(docker_client, attacker)
    assert probe(client, attacker, f"http://{gateway}:{port}/").startswith("failed")  # published on loopback only
    assert probe(client, attacker, host_server(gateway)) == "reached 200"  # traffic out of the kernel still flows


def test_a_cluster_sessions_kernels_reach_each_other_and_no_other_sessions_kernel_reaches_them(
        client: AgentClient, make_kernel: Any, make_session: Callable[..., list[KernelRecord]],
        session_network: Callable[[str], str], docker_client: docker.DockerClient, settings: AgentSettings) -> None:
    main, sub = make_session(["main1", "sub1"], session_network("cluster"))
    assert main.config["resources"]["port_isolation"]["port"] is None  # its session needs the bridge's forwarding
    [other_cluster] = make_session(["main1"], session_network("other"))
    single = make_kernel()
    port = start_http_server(client, main)
    _, main_ip = address_of(docker_client, main)

    assert probe(client, sub, "http://main1:8080/") == "reached 200"  # by its hostname, in its session
    assert host_reaches(settings.bind_host, port) == 200
    for attacker in (single, other_cluster):
        assert probe(client, attacker, f"http://{main_ip}:8080/").startswith("failed")
