"""Fixtures for the stages' unit tests: a context, a real state database, and a fake Docker."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from contract.kernels import ClusterInfo, KernelCreationConfig
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.state.db import StateDB


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    return StateDB(tmp_path / "agent.db")


@pytest.fixture
def secrets(tmp_path: Path) -> KernelSecrets:
    return KernelSecrets(tmp_path / "secrets")


@pytest.fixture
def ctx(tmp_path: Path) -> KernelContext:
    """A kernel's context whose scratch and ipc dirs are under tmp_path, owned by this user."""
    kernel_id = str(uuid.uuid4())
    config = KernelCreationConfig.model_validate({
        "image": {"canonical": "kernel-python:latest", "is_local": True},
        "resource_slots": {"cpu": 1, "mem": "256m"}, "environ": {"USER_VAR": "1"}})
    return KernelContext(kernel_id=kernel_id, session_id=str(uuid.uuid4()), kernel_config=config,
                         cluster_info=ClusterInfo(), agent_id="test-unit", scratch_dir=tmp_path / "scratch" / kernel_id,
                         ipc_dir=tmp_path / "ipc" / kernel_id, uid=os.getuid(), gid=os.getgid())


class FakeDockerAPI:
    """Stands for docker-py's low-level API: records the calls the stages make."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.started: list[str] = []
        self.removed: list[str] = []
        self.labelled: dict[str, str] = {}  # kernel id -> container id
        self.state: dict[str, Any] = {"Running": True, "ExitCode": 0}

    def containers(self, all: bool, filters: dict[str, str]) -> list[dict[str, str]]:
        kernel_id = filters["label"].split("=", 1)[1]
        return [{"Id": self.labelled[kernel_id]}] if kernel_id in self.labelled else []

    def create_host_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_networking_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config

    def create_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def create_container(self, **kwargs: Any) -> dict[str, str]:
        cid = f"c{len(self.created)}"
        self.created.append(kwargs)
        self.labelled[kwargs["labels"]["ai.backend.kernel-id"]] = cid
        return {"Id": cid}

    def start(self, cid: str) -> None:
        self.started.append(cid)

    def remove_container(self, cid: str, force: bool, v: bool) -> None:
        self.removed.append(cid)

    def inspect_container(self, cid: str) -> dict[str, Any]:
        return {"State": self.state}

    def logs(self, cid: str, tail: int) -> bytes:
        return b"python3: not found"


class FakeDocker:
    def __init__(self) -> None:
        self.api = FakeDockerAPI()


@pytest.fixture
def fake_docker() -> FakeDocker:
    return FakeDocker()
