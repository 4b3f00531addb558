"""`scripts/run-agent` supervises its worker: one that dies unexpectedly is started again, one
stopped through the script is not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from agent_client.events import read_all
from tests.support.agent_process import REPO, new_agent_id
from tests.support.redis_server import free_port

pytestmark = pytest.mark.system


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


class RunAgent:
    def __init__(self, redis_url: str, agent_redis_url: str | None = None) -> None:
        self.agent_id = new_agent_id("run")
        self.var_dir = Path(tempfile.mkdtemp(prefix="agent-run-"))
        self.redis = redis.Redis.from_url(redis_url)
        env = {**os.environ, "AGENT_ID": self.agent_id, "AGENT_REDIS_URL": agent_redis_url or redis_url,
               "AGENT_VAR_DIR": str(self.var_dir), "AGENT_CONFIG": str(self.var_dir / "agent.toml"),
               "AGENT_FLOWER_PORT": str(free_port())}
        self.log = (self.var_dir / "run-agent.log").open("wb")
        self.proc = subprocess.Popen([str(REPO / "scripts" / "run-agent")], cwd=REPO, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return (self.var_dir / "run-agent.log").read_text(errors="replace")

    def starts(self) -> int:
        return sum(1 for e in read_all(self.redis) if e.source == self.agent_id and e.name == "agent_started")

    def wait_for_starts(self, n: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.starts() < n:
            assert self.proc.poll() is None, f"run-agent exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"the worker did not start {n} times:\n{self.output()}"
            time.sleep(0.2)

    def worker_pid(self) -> int:
        (pid,) = [p for p in children(self.proc.pid) if "agent-worker" in command_of(p)]
        return pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()
        self.redis.close()
        shutil.rmtree(self.var_dir, ignore_errors=True)


@pytest.fixture
def run_agent(redis_url: str, docker_engine: object) -> Iterator[RunAgent]:
    r = RunAgent(redis_url)
    yield r
    r.stop()


def test_run_agent_restarts_a_killed_worker_but_not_one_stopped_with_ctrl_c(run_agent: RunAgent) -> None:
    run_agent.wait_for_starts(1)
    first = run_agent.worker_pid()
    os.kill(first, signal.SIGKILL)
    run_agent.wait_for_starts(2)
    second = run_agent.worker_pid()
    assert second != first
    assert "the worker died unexpectedly (exit status 137); starting it again in 1 s" in run_agent.output()
    run_agent.proc.send_signal(signal.SIGINT)  # Ctrl-C: a warm shutdown, and no restart
    assert run_agent.proc.wait(60) == 0
    assert not Path(f"/proc/{second}").exists()
    time.sleep(2)
    assert run_agent.starts() == 2
    assert [p for p in run_agent.output().splitlines() if "starting it again" in p] == [
        "the worker died unexpectedly (exit status 137); starting it again in 1 s"]


def test_run_agent_does_not_restart_a_worker_whose_settings_are_not_valid(
        redis_url: str, docker_engine: object) -> None:
    r = RunAgent(redis_url, agent_redis_url=redis_url.replace("redis://", "sentinel://", 1))  # no master_name
    try:
        assert r.proc.wait(120) == 78
        out = r.output()
        (line,) = [x for x in out.splitlines() if x.startswith("agent-worker:")]  # one line, naming the setting
        assert "the settings are not valid" in line and "redis_url:" in line and "master_name" in line
        assert "starting it again" not in out
        assert r.starts() == 0
    finally:
        r.stop()
