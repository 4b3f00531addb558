"""Sending a failed task again from the result backend: `agentctl task retry` (the same code as
`celery -A worker.app retry`, tested in tests/system/test_celery_cli.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from celery.exceptions import TaskRevokedError

from agent_client.cli.main import main
from agent_client.client import AgentClient
from agent_client.images import push_image
from agent_client.retry import RetryRefused, retry_task, stored_task
from contract.redaction import MASK
from worker.config import AgentSettings


def agentctl(settings: AgentSettings, redis_url: str, *args: str) -> int:
    return main(["--agent", settings.id, "--redis-url", redis_url, *args])


def test_an_expired_ping_is_sent_again_to_its_host_and_runs(client: AgentClient, settings: AgentSettings) -> None:
    late = client.signature("ping", msg="again").set(expires=datetime.now(UTC) - timedelta(seconds=1)).apply_async()
    with pytest.raises(TaskRevokedError, match="expired"):
        late.get(timeout=30)
    new = retry_task(client.app, late.id)
    assert new.id != late.id
    assert new.get(timeout=30) == "again"
    again = stored_task(client.app, new.id)
    assert (again.name, again.kwargs, again.queue, again.state) == ("agent.ping", {"msg": "again"},
                                                                   settings.queue, "SUCCESS")


def test_agentctl_task_retry_resends_a_failure_with_its_arguments_and_prints_the_new_id(
        client: AgentClient, settings: AgentSettings, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    failed = client.send("ping", msg=123)
    with pytest.raises(ValueError, match="msg"):
        failed.get(timeout=30)
    capsys.readouterr()
    assert agentctl(settings, redis_url, "task", "retry", failed.id) == 0
    new_id = capsys.readouterr().out.strip()
    new = client.app.AsyncResult(new_id)
    with pytest.raises(ValueError, match="msg"):  # the same arguments: the same failure
        new.get(timeout=30)
    assert stored_task(client.app, new_id).kwargs == {"msg": 123}
    assert agentctl(settings, redis_url, "task", "show", new_id, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["name"], shown["queue"]) == ("FAILURE", "agent.ping", settings.queue)


def test_a_failed_execute_is_refused_as_not_safe_to_repeat(
        client: AgentClient, settings: AgentSettings, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    failed = client.send("execute", session_id=str(uuid.uuid4()), kernel_id=str(uuid.uuid4()), mode="query",
                         code="print(1)", run_id=None, flush_timeout=1.0)
    failed.get(timeout=30, propagate=False)
    capsys.readouterr()
    assert agentctl(settings, redis_url, "task", "retry", failed.id) == 1
    err = capsys.readouterr().err
    assert err.startswith("agentctl: RetryRefused: agent.execute is not safe to repeat") and "Traceback" not in err


def test_a_failed_push_whose_password_was_masked_is_refused(client: AgentClient) -> None:
    failed = push_image(client, {"name": f"nothing-{uuid.uuid4().hex[:6]}", "tag": "v1", "registry": "127.0.0.1:9",
                                 "is_local": False},
                        {"name": "127.0.0.1:9", "url": "http://127.0.0.1:9", "username": "u", "password": "pw"}, 5)
    failed.get(timeout=60, propagate=False)
    assert stored_task(client.app, failed.id).kwargs["registry_conf"]["password"] == MASK
    with pytest.raises(RetryRefused, match="held a secret, masked before they were stored"):
        retry_task(client.app, failed.id)


def test_an_unknown_task_id_is_refused(client: AgentClient) -> None:
    with pytest.raises(RetryRefused, match="no result for task"):
        retry_task(client.app, str(uuid.uuid4()))
