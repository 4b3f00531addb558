"""Celery's own command line on the agent: `celery -A worker.app worker` as documented by Celery runs
the agent's worker, and `inspect`, `call`, `result`, `purge` and our `retry` drive it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import Celery
from celery.exceptions import TaskRevokedError

from agent_client.client import AgentClient
from tests.support.agent_process import CELERY, REPO, AgentProcess, new_agent_id

pytestmark = pytest.mark.system


def celery(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CELERY), "-A", "worker.app", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=check, env=os.environ)


def event_bindings(r: redis.Redis) -> set[bytes]:
    """Queues bound to the events exchange: a gossiping worker binds one (and so do Flower and
    other event receivers, none of which starts here)."""
    return set(r.smembers("_kombu.binding.celeryev"))


@pytest.fixture(scope="module")
def plain_worker(redis_url: str, docker_engine: object) -> Iterator[AgentProcess]:
    """`celery -A worker.app worker -n agent@ID -Q agent.ID`, nothing else on the command line."""
    r = redis.Redis.from_url(redis_url)
    before = event_bindings(r)
    agent_id = new_agent_id("plain")
    agent = AgentProcess(agent_id, redis_url, extra_env={"AGENT_CONCURRENCY": "5"}, command=[
        str(CELERY), "-A", "worker.app", "worker", "-n", f"agent@{agent_id}", "-Q", f"agent.{agent_id}",
        "-l", "INFO"])
    try:
        agent.wait_alive()
        assert event_bindings(r) == before  # no gossip
        yield agent
    finally:
        agent.stop()
        r.close()


def test_the_plain_celery_worker_command_gets_threads_the_concurrency_and_no_gossip_or_mingle(
        plain_worker: AgentProcess) -> None:
    stats = json.loads(celery("inspect", "stats", "-d", plain_worker.worker_name, "--json").stdout)
    pool = stats[plain_worker.worker_name]["pool"]
    assert pool["implementation"] == "celery.concurrency.thread:TaskPool"
    assert pool["max-concurrency"] == 5
    log = plain_worker.log()
    assert "mingle" not in log  # a mingling worker logs "mingle: searching for neighbors"
    assert f"agent@{plain_worker.agent_id} ready." in log


def test_call_result_and_inspect_as_documented(plain_worker: AgentProcess) -> None:
    queue = f"agent.{plain_worker.agent_id}"
    task_id = celery("call", "agent.ping", "--kwargs", '{"msg": "documented"}', "--queue", queue).stdout.strip()
    assert celery("result", task_id).stdout.strip() == "documented"
    pong = json.loads(celery("inspect", "ping", "-d", plain_worker.worker_name, "--json").stdout)
    assert pong == {plain_worker.worker_name: {"ok": "pong"}}
    queues = json.loads(celery("inspect", "active_queues", "-d", plain_worker.worker_name, "--json").stdout)
    assert [q["name"] for q in queues[plain_worker.worker_name]] == [queue]


def test_one_process_inspecting_again_and_again_gets_every_answer(plain_worker: AgentProcess) -> None:
    """As Flower's refresh does: inspect calls to every worker with a 1 s timeout, one after another
    on the app's reused connection. The worker's long BRPOP wait is its own, not the client's."""
    code = ("import json; from worker.app import app; print(json.dumps([sorted(getattr(app.control.inspect("
            "timeout=1), m)() or {}) for m in ('stats', 'active_queues', 'registered', 'conf', 'ping')]))")
    done = subprocess.run([str(CELERY.parent / "python"), "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=True, env=os.environ)
    answered = json.loads(done.stdout.splitlines()[-1])
    assert [plain_worker.worker_name in workers for workers in answered] == [True] * 5, answered


def test_purge_drops_what_waits_in_a_host_queue(redis_url: str, client_app: Celery) -> None:
    queue = f"agent.{new_agent_id('gone')}"  # nobody consumes it
    for i in range(3):
        client_app.send_task("agent.ping", kwargs={"msg": str(i)}, queue=queue, routing_key=queue)
    r = redis.Redis.from_url(redis_url)
    try:
        assert r.llen(queue) == 3
        out = celery("purge", "-Q", queue, "-f").stdout
        assert "Purged 3 messages" in out
        assert r.llen(queue) == 0
    finally:
        r.close()


def test_celery_retry_resends_an_expired_ping_to_its_host_and_prints_the_new_id(
        plain_worker: AgentProcess, redis_url: str, client_app: Celery) -> None:
    client = AgentClient(plain_worker.agent_id, redis_url, app=client_app)
    try:
        late = client.signature("ping", msg="once more").set(
            expires=datetime.now(UTC) - timedelta(seconds=1)).apply_async()
        with pytest.raises(TaskRevokedError):
            late.get(timeout=30)
        new_id = celery("retry", late.id).stdout.strip()
        new = client_app.AsyncResult(new_id)
        assert new.get(timeout=30) == "once more"
        assert new.worker == plain_worker.worker_name and new.queue == f"agent.{plain_worker.agent_id}"
        again = celery("retry", new_id, check=False)  # it succeeded: nothing to retry
        assert again.returncode == 1
        assert "retry refused:" in again.stderr and "only a FAILURE or a REVOKED task" in again.stderr
        assert "Traceback" not in again.stderr
    finally:
        client.close()
