"""Session set-up for every test: a real Redis, a reachable Docker, the agent's environment.

The environment is set before anything imports `worker.app` (which reads it at import).
Missing Docker or Redis fails the run loudly: nothing here skips.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker_cleanup import TEST_AGENT_PREFIX, docker_client, remove_test_objects
from tests.support.redis_server import RedisServer

_started = time.time()
_redis: RedisServer | None = None
_var_dir: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _redis, _var_dir
    _redis = RedisServer()
    _var_dir = Path(tempfile.mkdtemp(prefix="agent-test-"))
    port_base = random.randrange(30000, 60000, 500)
    devices = []
    for i in range(2):  # the mock accelerator: two devices backed by real files
        path = _var_dir / f"mock-device-{i}"
        path.write_text(f"mock device {i}\n")
        devices.append({"device_id": f"mock{i}", "path": str(path), "model_name": "Mock Accelerator"})
    (_var_dir / "vfolders").mkdir()
    os.environ.update({
        "AGENT_ID": f"{TEST_AGENT_PREFIX}{uuid.uuid4().hex[:8]}",
        "AGENT_REDIS_URL": _redis.url,
        "AGENT_VAR_DIR": str(_var_dir),
        "AGENT_CONFIG": str(_var_dir / "agent.toml"),
        "AGENT_HEARTBEAT_INTERVAL": "2",
        "AGENT_RUNNER_HANDSHAKE_TIMEOUT": "15",
        "AGENT_MOCK_DEVICES": json.dumps(devices),
        # sessions side by side on one Docker must not fight over host ports
        "AGENT_PORT_RANGE": json.dumps([port_base, port_base + 499]),
        "AGENT_VFOLDER_ROOTS": json.dumps([str(_var_dir / "vfolders")]),
    })


def pytest_unconfigure(config: pytest.Config) -> None:
    if _redis is not None:
        _redis.stop()
    if _var_dir is not None:
        shutil.rmtree(_var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> str:
    assert _redis is not None
    return _redis.url


@pytest.fixture(scope="session")
def var_dir() -> Path:
    assert _var_dir is not None
    return _var_dir


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[object]:
    client = docker_client()
    agent_id = os.environ["AGENT_ID"]
    remove_test_objects(client, _started, agent_id)
    yield client
    remove_test_objects(client, _started, agent_id)
    client.close()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for names of objects a test makes."""
    return uuid.uuid4().hex[:10]
