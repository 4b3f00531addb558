"""Redis high availability: a real `agent-worker` on a Sentinel-managed Redis (a master, a replica,
three sentinels, all real); the master is killed under a manager's load with a kernel creation in
flight, and after the failover the agent serves again, every task the manager sent is answered,
the creation ends created or cleaned, and the agent's events go on."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis
from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult
from kombu.exceptions import OperationalError

from agent_client.client import AgentClient, make_client_app, wait_for
from agent_client.redis_clients import redis_client
from contract.errors import AgentUnavailable
from tests.support.agent_process import AgentProcess, new_agent_id
from tests.support.outage import assert_kernel_gone, drop_results, seconds_until_it_serves, wait_for_container
from tests.support.sentinel_cluster import SentinelCluster

pytestmark = pytest.mark.system


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    c = SentinelCluster(tmp_path)
    yield c
    c.stop()


class PingLoad(threading.Thread):
    """A manager sending pings back to back through its own client; each send that returned is a
    task the manager was told was taken, and must be answered."""

    def __init__(self, agent_id: str, url: str) -> None:
        super().__init__(daemon=True)
        self.app = make_client_app(url)
        self.client = AgentClient(agent_id, url, app=self.app)
        self.sent: list[tuple[str, str]] = []
        self.refused = 0
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            msg = f"load-{n}"
            n += 1
            try:
                self.sent.append((self.client.send("ping", msg=msg).id, msg))
            except (AgentUnavailable, redis.RedisError, OperationalError):
                self.refused += 1  # refused, not lost: the manager knows it was not sent
                time.sleep(0.1)

    def stop(self) -> None:
        self.done.set()
        self.join(30)
        self.client.close()
        self.app.close()


def answered(result: AsyncResult, msg: str) -> bool:
    try:
        return bool(wait_for(result, 30) == msg)
    except ResultTimeout:
        return False


def wait_for_event_after(r: redis.Redis, name: str, after: float, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for _, fields in r.xrevrange("events", count=50):
            if fields[b"name"].decode() == name and json.loads(fields[b"payload"])["timestamp"] > after:
                return
        assert time.monotonic() < deadline, f"no {name} after the failover"
        time.sleep(0.2)


def test_a_master_killed_under_load_fails_over_and_the_agent_serves_again_losing_no_task(
        cluster: SentinelCluster, docker_engine: docker.DockerClient, slow_runner_image: str) -> None:
    agent = AgentProcess(new_agent_id("ha"), cluster.url)
    app = make_client_app(cluster.url)
    client = AgentClient(agent.agent_id, cluster.url, app=app)
    load = PingLoad(agent.agent_id, cluster.url)
    events = redis_client(cluster.url)
    try:
        agent.wait_alive()
        kernel_id = str(uuid.uuid4())
        creation_id = client.send("create_kernels", raw_session_id=str(uuid.uuid4()), raw_kernel_ids=[kernel_id],
                               raw_configs=[{"image": {"canonical": slow_runner_image, "is_local": True},
                                             "resource_slots": {"cpu": 1, "mem": "128m"}}]).id
        wait_for_container(docker_engine, agent, kernel_id)
        load.start()
        while len(load.sent) < 5:
            time.sleep(0.02)

        killed = time.monotonic()
        cluster.kill_master()
        failed_over, wall = time.monotonic(), time.time()
        took = seconds_until_it_serves(client, agent)
        sent_by_then = len(load.sent)
        while len(load.sent) < sent_by_then + 5:  # the load goes on through the new master
            time.sleep(0.02)
        load.stop()
        print(f"failover {failed_over - killed:.1f} s after the kill; serving again {took:.1f} s after it; "
              f"{len(load.sent)} pings sent, {load.refused} refused while Redis was away")

        lost = [msg for task_id, msg in load.sent if not answered(AsyncResult(task_id, app=app), msg)]
        assert lost == [], f"sent, never answered: {lost}\n{agent.log()[-5000:]}"  # no task the manager sent
        try:
            created = wait_for(AsyncResult(creation_id, app=app), 60)
        except RuntimeError:
            assert_kernel_gone(docker_engine, agent, kernel_id)
        else:
            assert created[0]["id"] == kernel_id  # SIGTERM below destroys it
        wait_for_event_after(events, "agent_heartbeat", wall)  # the agent's events go on, on the new master
        assert "Unrecoverable error" not in agent.log()
        assert agent.terminate() == 0
        assert_kernel_gone(docker_engine, agent, kernel_id)
    finally:
        if load.is_alive():
            load.stop()
        events.close()
        drop_results()
        client.close()
        app.close()
        agent.stop()
