"""A real `agent-worker` process (the production entry point) for one agent id, with its own var dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from agent_client.redis_clients import redis_client
from contract.naming import liveness_key
from tests.support.docker_cleanup import TEST_AGENT_PREFIX

REPO = Path(__file__).resolve().parents[2]
AGENT_WORKER = Path(sys.executable).parent / "agent-worker"
CELERY = Path(sys.executable).parent / "celery"


def new_agent_id(label: str) -> str:
    """An id for a system-test agent: it starts with the session's own agent id (so the session's
    clean-up knows its kernels) and is unique."""
    return f"{os.environ.get('AGENT_ID', TEST_AGENT_PREFIX)}-{label}-{uuid.uuid4().hex[:6]}"


class AgentProcess:
    """`agent-worker` (or `command`) for `agent_id` against `redis_url`; its output goes to a log file in
    its var dir."""

    def __init__(self, agent_id: str, redis_url: str, *, extra_env: dict[str, str] | None = None,
                 extra_args: list[str] | None = None, var_dir: Path | None = None,
                 command: list[str] | None = None) -> None:
        self.agent_id = agent_id
        self.redis_url = redis_url
        self.var_dir = var_dir or Path(tempfile.mkdtemp(prefix=f"agent-{agent_id}-"))
        self.log_path = self.var_dir / "worker.log"
        env = {**os.environ, "AGENT_ID": agent_id, "AGENT_REDIS_URL": redis_url,
               "AGENT_VAR_DIR": str(self.var_dir), "AGENT_CONFIG": str(self.var_dir / "agent.toml"),
               **(extra_env or {})}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([*(command or [str(AGENT_WORKER)]), *(extra_args or [])], cwd=REPO, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)

    @property
    def worker_name(self) -> str:
        return f"agent@{self.agent_id}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_alive(self, timeout: float = 60.0) -> None:
        """Until the worker has announced itself (its liveness key exists); fails with its log."""
        client = redis_client(self.redis_url)  # a plain Redis or, through Sentinel, its master
        try:
            deadline = time.monotonic() + timeout
            while not client.exists(liveness_key(self.agent_id)):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"agent-worker {self.agent_id} exited with {self.proc.returncode}:\n"
                                       f"{self.log()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"agent-worker {self.agent_id} not alive after {timeout} s:\n"
                                       f"{self.log()}")
                time.sleep(0.1)
        finally:
            client.close()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (warm shutdown) and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise TimeoutError(f"agent-worker {self.agent_id} ignored SIGTERM for {timeout} s:\n"
                               f"{self.log()}") from None

    def stop(self) -> None:
        """Terminate if running and remove the var dir (for fixtures' teardown)."""
        try:
            if self.proc.poll() is None:
                self.terminate()
        finally:
            shutil.rmtree(self.var_dir, ignore_errors=True)
