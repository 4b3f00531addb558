"""A session network belongs to the session whose kernels use it, while they do."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from worker.state.db import StateDB
from worker.state.network_bindings import NetworkBindings, NetworkTaken


@pytest.fixture
def bindings(tmp_path: Path) -> NetworkBindings:
    return NetworkBindings(StateDB(tmp_path / "agent.db"))


def test_kernels_of_one_session_share_a_network_and_another_session_is_refused(bindings: NetworkBindings) -> None:
    bindings.bind("net", "s1", "k1")
    bindings.bind("net", "s1", "k2")
    bindings.bind("net", "s1", "k1")  # a redelivered stage
    assert bindings.other_session("net", "s2") == "s1" and bindings.other_session("net", "s1") is None
    with pytest.raises(NetworkTaken, match="belongs to session s1"):
        bindings.bind("net", "s2", "k3")
    assert bindings.kernels() == {"k1", "k2"}


def test_the_network_is_free_again_when_its_sessions_last_kernel_is_released(bindings: NetworkBindings) -> None:
    bindings.bind("net", "s1", "k1")
    bindings.bind("net", "s1", "k2")
    bindings.release("k1")
    with pytest.raises(NetworkTaken):
        bindings.bind("net", "s2", "k3")
    bindings.release("k2")
    bindings.release("k2")  # released twice: nothing happens
    bindings.bind("net", "s2", "k3")
    assert bindings.kernels() == {"k3"}


def test_two_sessions_racing_for_one_network_never_both_get_it(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "agent.db")
    bindings = NetworkBindings(db)
    won: list[str] = []
    barrier = threading.Barrier(8)

    def take(i: int) -> None:
        barrier.wait()
        try:
            bindings.bind("net", f"s{i}", f"k{i}")
            won.append(f"s{i}")
        except NetworkTaken:
            pass

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and bindings.kernels() == {f"k{won[0][1:]}"}
