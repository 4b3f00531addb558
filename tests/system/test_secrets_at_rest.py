"""No secret given to create_kernels rests anywhere: not in Redis (task meta, chain steps, results,
events), not in agent.db, not in the worker's log; the kernel still gets its keys and credentials,
and the 0600 file that held them during the creation is gone once it ends."""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import redis
from celery import Celery

from agent_client.client import AgentClient
from tests.support.agent_process import AgentProcess, new_agent_id

pytestmark = pytest.mark.system

SECRETS = {"registry": "S3cr3t-registry-pw", "user_key": "S3cr3t-user-private-key",
           "cluster_key": "S3cr3t-cluster-private-key", "creds": "S3cr3t-docker-cred"}


@pytest.fixture
def agent(redis_url: str, client_app: Celery, kernel_image: str) -> Iterator[tuple[AgentProcess, AgentClient]]:
    low = random.randrange(20000, 29000, 100)
    proc = AgentProcess(new_agent_id("secrets"), redis_url, extra_env={"AGENT_PORT_RANGE": f"[{low}, {low + 99}]"})
    try:
        proc.wait_alive()
        yield proc, AgentClient(proc.agent_id, redis_url, app=client_app, default_timeout=120)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def kernel_image() -> str:
    import subprocess

    from tests.support.agent_process import REPO

    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True)
    return "kernel-python:latest"


def everything_in_redis(r: redis.Redis) -> bytes:
    """Every value of every key, as bytes (strings, hashes, lists, sets, zsets, streams)."""
    out = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        if kind == "string":
            out.append(r.get(key) or b"")
        elif kind == "hash":
            out.extend(b"%s=%s" % kv for kv in r.hgetall(key).items())
        elif kind == "list":
            out.extend(r.lrange(key, 0, -1))
        elif kind in ("set", "zset"):
            out.extend(r.smembers(key) if kind == "set" else r.zrange(key, 0, -1))
        elif kind == "stream":
            out.extend(str(entry).encode() for entry in r.xrange(key))
    return b"\n".join(out)


def test_secrets_given_to_create_kernels_rest_nowhere_and_still_reach_the_kernel(
        agent: tuple[AgentProcess, AgentClient], redis_url: str, docker_engine: docker.DockerClient) -> None:
    proc, client = agent
    session, kernel_id = str(uuid.uuid4()), str(uuid.uuid4())
    config = {
        "image": {"canonical": "kernel-python:latest", "is_local": True,
                  "registry": {"name": "reg", "url": "http://127.0.0.1:1", "username": "u",
                               "password": SECRETS["registry"]}},
        "resource_slots": {"cpu": 1, "mem": "256m"},
        "internal_data": {"ssh_keypair": {"public_key": "ssh-ed25519 AAAA", "private_key": SECRETS["user_key"]},
                          "docker_credentials": {"auths": {"reg": {"auth": SECRETS["creds"]}}}},
    }
    cluster = {"ssh_keypair": {"public_key": "ssh-ed25519 BBBB", "private_key": SECRETS["cluster_key"]}}
    client.call("create_kernels", raw_session_id=session, raw_kernel_ids=[kernel_id], raw_configs=[config],
                raw_cluster_info=cluster, wait=120)
    try:
        c = docker_engine.containers.get(f"kernel.{kernel_id}")
        assert c.exec_run(["cat", "/home/work/.ssh/id_rsa"], user="1000:1000").output.decode() == SECRETS["user_key"]
        assert c.exec_run(["cat", "/home/config/ssh/id_cluster"], user="1000:1000").output.decode() == \
            SECRETS["cluster_key"]
        scratch = proc.var_dir / "scratches" / kernel_id
        assert SECRETS["creds"] in (scratch / "config" / "docker-creds.json").read_text()

        r = redis.Redis.from_url(redis_url)
        stored = everything_in_redis(r)
        r.close()
        with sqlite3.connect(proc.var_dir / "agent.db") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        at_rest = {"redis": stored, "agent.db": (proc.var_dir / "agent.db").read_bytes(),
                   "worker log": proc.log().encode()}
        for where, data in at_rest.items():
            for name, secret in SECRETS.items():
                assert secret.encode() not in data, f"the {name} secret rests in {where}"
        assert b"********" in stored  # the masked request is there, so the scan did look at it
        assert list((proc.var_dir / "secrets").glob("*")) == []  # the creation is over
    finally:
        client.call("destroy_kernel", kernel_id=kernel_id, session_id=session)
    assert not Path(proc.var_dir / "scratches" / kernel_id).exists()
