"""The compose cluster of compose.yaml, run by `scripts/cluster` for a test: its own compose project,
agent ids (the session's test prefix), ports, var dirs and passwords; every object it makes is
labelled `agent.test` (tests/system/compose.test.yaml)."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import requests

from tests.support.agent_process import REPO, new_agent_id
from tests.support.docker_cleanup import TEST_AGENT_PREFIX
from tests.support.redis_server import free_port

PROJECT_LABEL = "com.docker.compose.project"
AGENTS = ("agent-1", "agent-2")


class ComposeCluster:
    def __init__(self) -> None:
        self.project = f"agenttest{uuid.uuid4().hex[:8]}"
        self.dir = Path(tempfile.mkdtemp(prefix="agent-compose-"))
        self.env_file = self.dir / "env"
        self.agent_ids = (new_agent_id("c1"), new_agent_id("c2"))
        self.password = secrets.token_hex(12)
        self.flower_auth = ("admin", secrets.token_hex(8))
        self.redis_port, self.flower_port = free_port(), free_port()
        base = random.randrange(40000, 60000, 200)
        settings = {
            "AGENT_REDIS_PASSWORD": self.password,
            "AGENT_FLOWER_AUTH": ":".join(self.flower_auth),
            "AGENT_CLUSTER_DIR": str(self.dir),
            "AGENT_REDIS_PORT": str(self.redis_port),
            "AGENT_FLOWER_PORT": str(self.flower_port),
            "AGENT_1_ID": self.agent_ids[0],
            "AGENT_2_ID": self.agent_ids[1],
            "AGENT_1_PORT_RANGE": json.dumps([base, base + 99]),
            "AGENT_2_PORT_RANGE": json.dumps([base + 100, base + 199]),
            "AGENT_HEARTBEAT_INTERVAL": "2",
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    @property
    def redis_url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.redis_port}/0"

    @property
    def flower_url(self) -> str:
        return f"http://127.0.0.1:{self.flower_port}"

    def env(self) -> dict[str, str]:
        """The script's environment: the cluster's own settings, none of the test session's AGENT_*."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "COMPOSE_"))}
        env.update(AGENT_CLUSTER_ENV=str(self.env_file), COMPOSE_PROJECT_NAME=self.project,
                   AGENT_TEST_OWNER=f"{os.environ.get('AGENT_ID', TEST_AGENT_PREFIX)}-compose",
                   COMPOSE_FILE=f"{REPO / 'compose.yaml'}:{REPO / 'tests/system/compose.test.yaml'}")
        return env

    def script(self, *args: str, timeout: float = 900) -> str:
        """`scripts/cluster ARGS`; its output (it must succeed)."""
        done = subprocess.run([str(REPO / "scripts" / "cluster"), *args], cwd=REPO, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"scripts/cluster {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def flower(self, path: str, auth: bool = True) -> requests.Response:
        return requests.get(self.flower_url + path, auth=self.flower_auth if auth else None, timeout=10)

    def wait_for_flower_workers(self, timeout: float = 60) -> list[dict[str, Any]]:
        """Until Flower has seen both agents' workers online (from their events); their entries."""
        names = {f"agent@{a}" for a in self.agent_ids}
        deadline = time.monotonic() + timeout
        while True:
            try:
                workers = self.flower("/workers?json=1").json()["data"]
                if names <= {w["hostname"] for w in workers if w.get("status")}:
                    return [w for w in workers if w["hostname"] in names]
            except (requests.RequestException, ValueError):
                pass
            assert time.monotonic() < deadline, "Flower does not show both workers online"
            time.sleep(0.5)

    def containers(self, client: docker.DockerClient) -> list[Any]:
        return list(client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"}))

    def leftovers(self, client: docker.DockerClient) -> list[str]:
        """Whatever the cluster made that is still on the host."""
        mine = {"label": f"{PROJECT_LABEL}={self.project}"}
        found = [f"container {c.name}" for c in self.containers(client)]
        found += [f"network {n.name}" for n in client.networks.list(filters=mine)]
        found += [f"volume {v.name}" for v in client.volumes.list(filters=mine)]
        for agent_id in self.agent_ids:
            found += [f"kernel {c.name}" for c in
                      client.containers.list(all=True, filters={"label": f"ai.backend.owner={agent_id}"})]
        found += [f"dir {self.dir / a}" for a in AGENTS if (self.dir / a).exists()]
        return found

    def tear_down(self, client: docker.DockerClient) -> None:
        """Whatever is left, even of a cluster that `destroy` cannot stop any more; then the
        directory with the settings."""
        try:
            if self.leftovers(client):
                subprocess.run([str(REPO / "scripts" / "cluster"), "destroy"], cwd=REPO, env=self.env(),
                               capture_output=True, timeout=300)
                subprocess.run([str(REPO / "scripts" / "cluster"), "compose", "down", "-v", "--remove-orphans"],
                               cwd=REPO, env=self.env(), capture_output=True, timeout=300)
                for agent_id in self.agent_ids:
                    for c in client.containers.list(all=True, filters={"label": f"ai.backend.owner={agent_id}"}):
                        c.remove(force=True)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
