"""Helpers for the isolation tests: code run inside a real kernel, a service started in one, a
kernel's address, and sessions of several kernels on a session network."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from tests.support.host_state import assert_host_clean
from worker.runtime import host
from worker.state.kernels import KernelRecord

# Run inside a kernel: GET a URL, print "reached <status>" or "failed <error type>".
PROBE = """
import urllib.request
try:
    with urllib.request.urlopen({url!r}, timeout=3) as r:
        print("reached", r.status)
except Exception as e:
    print("failed", type(e).__name__)
"""


def run_in(client: AgentClient, k: KernelRecord, code: str) -> str:
    """What `code` printed, run by the kernel's user inside the kernel (to its end)."""
    r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="query", code=code)
    console = list(r["console"])
    while r["status"] == "continued":
        r = client.call("execute", session_id=k.session_id, kernel_id=k.kernel_id, mode="continue",
                        run_id=r["runId"], flush_timeout=10)
        console += r["console"]
    assert r["status"] == "finished" and r["exitCode"] == 0, r
    return "".join(data for kind, data in console if kind == "stdout")


def probe(client: AgentClient, k: KernelRecord, url: str) -> str:
    return run_in(client, k, PROBE.format(url=url)).strip()


def start_http_server(client: AgentClient, k: KernelRecord) -> int:
    """The image's http-server service (port 8080 in the kernel) started; its published host port."""
    client.call("start_service", kernel_id=k.kernel_id, service="http-server", opts={})
    [port] = [p["host_ports"][0] for p in k.service_ports if p["name"] == "http-server"]
    return int(port)


def address_of(docker_client: docker.DockerClient, k: KernelRecord) -> tuple[str, str]:
    """The kernel's (network name, IP address): a kernel is on exactly one network."""
    [(name, endpoint)] = docker_client.containers.get(k.container_id).attrs["NetworkSettings"]["Networks"].items()
    return name, endpoint["IPAddress"]


@pytest.fixture
def session_network(client: AgentClient, unique: str) -> Iterator[Callable[[str], str]]:
    """`session_network(label)`: a network made by the agent's create_local_network, removed after."""
    made: list[str] = []

    def make(label: str) -> str:
        name = f"test-{label}-{unique}"
        client.create_local_network(name)
        made.append(name)
        return name

    yield make
    for name in made:
        client.destroy_local_network(name)


@pytest.fixture
def make_session(client: AgentClient, kernel_image: str, docker_client: docker.DockerClient,
                 session_network: Callable[[str], str]) -> Iterator[Callable[..., list[KernelRecord]]]:
    """`make_session(hostnames, network)`: one session's kernels on its session network, destroyed
    (and checked gone) after the test, before its networks go."""
    made: list[tuple[str, str]] = []

    def make(hostnames: list[str], network: str) -> list[KernelRecord]:
        session_id, kernel_ids = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in hostnames]
        made.extend((k, session_id) for k in kernel_ids)
        configs = [kernel_config(kernel_image, cluster_role="main" if i == 0 else "sub", cluster_idx=i + 1,
                                 cluster_hostname=h, network_id=network) for i, h in enumerate(hostnames)]
        client.call("create_kernels", raw_session_id=session_id, raw_kernel_ids=kernel_ids, raw_configs=configs,
                    raw_cluster_info={"size": len(hostnames)}, wait=120)
        return [host().registry.get(k) for k in kernel_ids]

    yield make
    for kernel_id, session_id in made:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)
        assert_host_clean(kernel_id, docker_client)
