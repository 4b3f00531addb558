"""Inference kernels: the model service starts after the container is verified, its port is
published (is_inference), its health is watched from inside the kernel and reported on change;
one that never becomes healthy fails the creation and leaves nothing."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from agent_client.client import AgentClient
from tests.integration.conftest import EventLog
from tests.integration.inference.conftest import inference_config, model_definition
from tests.support.host_state import assert_host_clean
from worker.runtime import host


@pytest.fixture
def create(client: AgentClient, kernel_image: str) -> Iterator[Any]:
    made: list[tuple[str, str]] = []

    def make(definition: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        session, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
        made.append((kernel_id, session))
        [info] = client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id],
                             raw_configs=[inference_config(kernel_image, definition)], wait=120)
        return kernel_id, session, info

    yield make
    for kernel_id, session in made:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session, suppress_events=True)


def statuses(events: EventLog, kernel_id: str) -> list[tuple[str, bool]]:
    return [(e.payload["model_name"], e.payload["healthy"]) for e in events.named("model_service_status")
            if e.payload["kernel_id"] == kernel_id]


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_healthy_model_service_is_published_reported_and_listed(
        create: Any, client: AgentClient, events: EventLog) -> None:
    kernel_id, _session, info = create(model_definition("healthy"))
    [port] = [p for p in info["service_ports"] if p["is_inference"]]
    assert port["name"] == "echo" and port["container_ports"] == [8000]
    with urllib.request.urlopen(f"http://127.0.0.1:{port['host_ports'][0]}/predict", timeout=5) as r:
        assert r.read() == b"model echo\n"  # BACKEND_MODEL_NAME reached it, the host reaches the port
    names = [e.name for e in events.since() if e.payload.get("kernel_id") == kernel_id]
    assert names.index("kernel_started") < names.index("model_service_status")
    assert statuses(events, kernel_id) == [("echo", True)]
    [listed] = [k for k in client.call("list_kernels") if k["kernel_id"] == kernel_id]
    assert [(m["model_name"], m["healthy"]) for m in listed["models"]] == [("echo", True)]
    assert client.call("ping_kernel", kernel_id=kernel_id)["models"][0]["healthy"] is True


def test_a_service_that_becomes_healthy_late_is_waited_for(create: Any, events: EventLog) -> None:
    started = time.monotonic()
    kernel_id, _, _info = create(model_definition("late"))
    assert time.monotonic() - started > 2  # the creation waited for it
    assert statuses(events, kernel_id) == [("echo", True)]


def test_a_service_that_never_becomes_healthy_fails_the_creation_and_leaves_nothing(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, events: EventLog) -> None:
    session, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(RuntimeError, match="did not become healthy within 3 s"):
        client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], wait=120,
                    raw_configs=[inference_config(kernel_image, model_definition("never", max_wait=3))])
    assert_host_clean(kernel_id, docker_client)
    [ended] = [e for e in events.named("kernel_terminated") if e.payload["kernel_id"] == kernel_id]
    assert ended.payload["reason"] == "failed-to-start"


def test_a_service_that_dies_is_reported_unhealthy_and_restarted_when_asked(
        create: Any, events: EventLog) -> None:
    kernel_id, _, _ = create(model_definition("dies", restart=True, DIE_AFTER="2"))
    wait_for(lambda: ("echo", False) in statuses(events, kernel_id))
    [down] = [e for e in events.named("model_service_status") if not e.payload["healthy"]]
    assert "exited with code 3" in down.payload["last_error"]
    wait_for(lambda: statuses(events, kernel_id)[-1] == ("echo", True))  # started again, healthy again
    assert statuses(events, kernel_id)[:3] == [("echo", True), ("echo", False), ("echo", True)]


def test_the_monitor_stops_when_the_kernel_ends_and_restart_starts_the_service_again(
        create: Any, client: AgentClient, events: EventLog) -> None:
    kernel_id, session, _ = create(model_definition("healthy"))
    info = client.call("restart_kernel", kernel_id=kernel_id, session_id=session,
                       kernel_image={"name": "kernel-python", "tag": "latest", "is_local": True})
    [port] = [p for p in info["service_ports"] if p["is_inference"]]
    with urllib.request.urlopen(f"http://127.0.0.1:{port['host_ports'][0]}/", timeout=5) as r:
        assert r.status == 200
    client.call("destroy_kernel", kernel_id=kernel_id, session_id=session)
    assert host().models.states(kernel_id) == []
    assert all(k != kernel_id for k, _ in list(host().models._watched))


@pytest.mark.parametrize("definition, field", [
    (None, "model_definition: an inference session needs a model definition"),
    ({"models": []}, "model_definition: models"),
    ({"models": [{"name": "x", "model_path": "/etc/models"}]}, "models.0.model_path"),
    ({"models": [{"name": "x", "model_path": "/home/work/m", "service": {"start_command": ["x"], "port": 2000}}]},
     "port 2000 is reserved"),
    ({"models": [{"name": "bad name", "model_path": "/home/work/m"}]}, "models.0.name"),
])
def test_bad_model_definitions_are_refused_naming_the_field(
        client: AgentClient, kernel_image: str, docker_client: docker.DockerClient, definition: Any,
        field: str) -> None:
    kernel_id = str(uuid.uuid4())
    config = inference_config(kernel_image, definition)
    if definition is None:
        del config["internal_data"]["model_definition"]
    with pytest.raises(ValueError, match=field):
        client.call("create_kernels", raw_session_id=str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                    raw_configs=[config])
    assert_host_clean(kernel_id, docker_client)
