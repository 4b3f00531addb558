"""What Flower learns from Celery's task events: an execute call ends (no row stuck PENDING) at the
cost of one event, and a kernel creation shows as agent.create_kernels with its provision step."""

from __future__ import annotations

import uuid

from agent_client.client import AgentClient
from tests.integration.conftest import kernel_config
from tests.support.task_events import capture_task_events
from worker.state.kernels import KernelRecord


def test_an_execute_call_sends_only_its_final_event(client: AgentClient, kernel: KernelRecord) -> None:
    with capture_task_events(client.app) as events:
        ok = client.send("execute", session_id=kernel.session_id, kernel_id=kernel.kernel_id, mode="query",
                         code="print(6 * 7)", run_id=None, flush_timeout=2.0)
        assert ok.get(timeout=30)["console"] == [["stdout", "42\n"]]
        failed = client.send("execute", session_id=kernel.session_id, kernel_id=str(uuid.uuid4()), mode="query",
                             code="print(1)", run_id=None, flush_timeout=2.0)
        failed.get(timeout=30, propagate=False)
        succeeded = events.wait_for(ok.id, "task-succeeded")
        events.wait_for(failed.id, "task-failed")
    assert events.types_of(ok.id) == ["task-sent", "task-succeeded"]  # no task-received, no task-started
    assert events.types_of(failed.id) == ["task-sent", "task-failed"]
    assert "42" in succeeded["result"] and succeeded["runtime"] > 0
    assert (events.as_flower_sees(ok.id).name, events.as_flower_sees(ok.id).state) == ("agent.execute", "SUCCESS")
    assert events.as_flower_sees(failed.id).state == "FAILURE"


def test_a_ping_still_sends_every_event(client: AgentClient) -> None:
    with capture_task_events(client.app) as events:
        result = client.send("ping", msg="all of them")
        assert result.get(timeout=30) == "all of them"
        events.wait_for(result.id, "task-succeeded")
    assert events.types_of(result.id) == ["task-sent", "task-received", "task-started", "task-succeeded"]


def test_a_creation_shows_as_create_kernels_beside_its_provision_step(
        client: AgentClient, kernel_image: str) -> None:
    kernel_id, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    with capture_task_events(client.app) as events:
        result = client.send("create_kernels", raw_session_id=session_id, raw_kernel_ids=[kernel_id],
                             raw_configs=[kernel_config(kernel_image)])
        try:
            result.get(timeout=120)
            events.wait_for(result.id, "task-succeeded")
        finally:
            client.call("destroy_kernel", kernel_id=kernel_id, session_id=session_id, suppress_events=True)
    creation = events.as_flower_sees(result.id)  # the final step carries the caller's id
    assert (creation.name, creation.state) == ("agent.create_kernels", "SUCCESS")
    steps = [e for e in events.seen if e["type"] == "task-received" and e.get("parent_id") == result.id]
    assert [e["name"] for e in steps] == ["agent.kernels.provision"]
    events.wait_for(steps[0]["uuid"], "task-succeeded")
    provision = events.as_flower_sees(steps[0]["uuid"])
    assert (provision.name, provision.state, provision.root_id) == ("agent.kernels.provision", "SUCCESS", result.id)
