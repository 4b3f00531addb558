"""Through Sentinel a writer waits for a replica after a write (PUBLISH then WAIT 1 on one
connection), except on a master that has none, which is asked at most every few seconds."""

from __future__ import annotations

from typing import Any

import pytest

from contract import replication
from contract.replication import REPLICA_WAIT_MS, ReplicaWait


class FakeMaster:
    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.commands: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(args)
        return [b"master", 100, [[b"127.0.0.1", b"6380", b"100"]] * self.replicas]

    def pipeline(self, transaction: bool = True) -> Any:
        assert not transaction  # WAIT cannot run inside MULTI
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, master: FakeMaster) -> None:
        self.master = master
        self.queued: list[tuple[Any, ...]] = []

    def publish(self, channel: str, message: str) -> None:
        self.queued.append(("PUBLISH", channel, message))

    def wait(self, replicas: int, timeout: int) -> None:
        self.queued.append(("WAIT", replicas, timeout))

    def execute(self) -> list[Any]:
        self.master.commands.append(tuple(self.queued))
        return [0, 1]


def test_a_write_is_followed_by_publish_and_wait_for_one_replica_on_one_connection() -> None:
    master = FakeMaster(replicas=1)
    assert ReplicaWait().after_write(master)
    assert master.commands[-1] == (("PUBLISH", replication.CHANNEL, ""), ("WAIT", 1, REPLICA_WAIT_MS))


def test_a_master_without_replicas_is_not_waited_for_and_asked_again_only_later(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(replication.time, "monotonic", lambda: now[0])
    master, wait = FakeMaster(replicas=0), ReplicaWait()
    assert not wait.after_write(master) and not wait.after_write(master)
    assert master.commands == [("ROLE",)]  # asked once, no WAIT
    master.replicas = 1  # the old master came back as a replica
    now[0] += replication.REPLICAS_CHECK_S
    assert wait.after_write(master)
    assert master.commands[1] == ("ROLE",) and master.commands[2][1][0] == "WAIT"
