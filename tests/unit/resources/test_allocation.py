"""Slot parsing, allocation and the port pool against a real SQLite state database."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from pathlib import Path

import pytest

from contract.errors import ResourceExhausted, UnsupportedResource
from worker.resources.allocator import DEFAULT_CPU_OVERCOMMIT, Allocator, HostCapacity, PortPool, free_on_host
from worker.resources.slots import SlotRequest, parse_bytes, parse_slots
from worker.state.creation_slots import CreationSlots
from worker.state.db import StateDB


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    return StateDB(tmp_path / "agent.db")


@pytest.mark.parametrize("text, value", [("256m", 256 << 20), ("1g", 1 << 30), ("1.5GiB", 3 << 29), (4096, 4096)])
def test_parse_bytes_understands_binary_suffixes(text: str | int, value: int) -> None:
    assert parse_bytes(text) == value


@pytest.mark.parametrize("slots, message", [
    ({"cpu": 1}, "must include"),
    ({"cpu": 1, "mem": "1g", "tpu": 2}, "'tpu' is not available"),
    ({"cpu": 1, "mem": "-5"}, "resource_slots.mem"),
    ({"cpu": "x", "mem": "1g"}, "resource_slots.cpu"),
    ({"cpu": 0, "mem": "1g"}, "at least 0.01 of a core"),
    ({"cpu": 1, "mem": "1m"}, "at least 64 MiB"),
])
def test_parse_slots_refuses_bad_requests_naming_the_slot(slots: dict[str, float | str], message: str) -> None:
    with pytest.raises(UnsupportedResource, match=message):
        parse_slots(slots)


def test_unknown_slots_asking_for_nothing_are_fine() -> None:
    assert parse_slots({"cpu": "1.5", "mem": "1g", "tpu": 0}) == SlotRequest(cpu=1.5, mem=1 << 30, mock_devices=0)


def test_allocation_is_all_or_nothing_and_released_by_kernel(db: StateDB) -> None:
    alloc = Allocator(db, HostCapacity(cores=(0, 1), mem=1 << 30, mock_devices=("m0",)))
    a = alloc.allocate("k1", SlotRequest(cpu=1, mem=512 << 20, mock_devices=1))
    assert a.cores == [0] and a.mock_devices == ["m0"]
    with pytest.raises(ResourceExhausted, match="mock devices"):
        alloc.allocate("k2", SlotRequest(cpu=1, mem=256 << 20, mock_devices=1))
    assert alloc.of("k2") is None  # nothing half-allocated
    with pytest.raises(ResourceExhausted, match="memory"):
        alloc.allocate("k3", SlotRequest(cpu=1, mem=768 << 20, mock_devices=0))
    b = alloc.allocate("k4", SlotRequest(cpu=1, mem=256 << 20, mock_devices=0))
    assert b.cores == [1]  # the least loaded core
    assert alloc.allocate("k1", SlotRequest(cpu=1, mem=512 << 20, mock_devices=1)) == a  # redelivery
    alloc.release("k1")
    assert alloc.of("k1") is None and alloc.kernels() == {"k4"}


def test_cores_are_shared_up_to_the_overcommit_then_refused(db: StateDB) -> None:
    alloc = Allocator(db, HostCapacity(cores=(0,), mem=1 << 40))
    for i in range(int(DEFAULT_CPU_OVERCOMMIT)):
        alloc.allocate(f"k{i}", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0))
    with pytest.raises(ResourceExhausted, match="room"):
        alloc.allocate("one-too-many", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0))
    with pytest.raises(ResourceExhausted, match="this host has 1"):
        alloc.allocate("big", SlotRequest(cpu=2, mem=64 << 20, mock_devices=0))


def test_the_overcommit_is_a_setting_and_fractions_of_a_core_share_it(db: StateDB) -> None:
    alloc = Allocator(db, HostCapacity(cores=(0, 1), mem=1 << 40, cpu_overcommit=50))
    for i in range(100):  # 100 one-core kernels on a 2-core host
        alloc.allocate(f"k{i}", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0))
    with pytest.raises(ResourceExhausted, match="room"):
        alloc.allocate("k100", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0))
    half = Allocator(StateDB(db.path.with_name("half.db")), HostCapacity(cores=(0,), mem=1 << 40, cpu_overcommit=1))
    a, b = (half.allocate(k, SlotRequest(cpu=0.5, mem=64 << 20, mock_devices=0)) for k in ("a", "b"))
    assert a.cores == b.cores == [0] and a.cpu == b.cpu == 0.5  # pinned to one core, half of it each
    with pytest.raises(ResourceExhausted, match="room"):
        half.allocate("c", SlotRequest(cpu=0.25, mem=64 << 20, mock_devices=0))
    assert half.of("a") == a


def test_fractional_cores_are_parsed_or_rounded_up_as_set() -> None:
    assert parse_slots({"cpu": 0.25, "mem": "1g"}).cpu == 0.25
    assert parse_slots({"cpu": "1.5", "mem": "1g"}).cores == 2
    assert parse_slots({"cpu": 0.25, "mem": "1g"}, fractional_cpu=False).cpu == 1


def test_concurrent_allocations_never_double_allocate_a_device(db: StateDB) -> None:
    alloc = Allocator(db, HostCapacity(cores=(0, 1), mem=1 << 40, mock_devices=("m0", "m1", "m2")))
    won: list[list[str]] = []

    def grab(i: int) -> None:
        with contextlib.suppress(ResourceExhausted):
            won.append(alloc.allocate(f"k{i}", SlotRequest(cpu=1, mem=64 << 20, mock_devices=1)).mock_devices)

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    devices = [d for w in won for d in w]
    assert sorted(devices) == ["m0", "m1", "m2"]


def free_range(n: int) -> int:
    """The first of `n` consecutive ports nothing on this host holds (other test runs share it)."""
    while True:
        base = random.randrange(42000, 60000)
        if all(free_on_host("127.0.0.1", p) for p in range(base, base + n)):
            return base


def test_port_pool_gives_distinct_ports_and_takes_them_back(db: StateDB) -> None:
    base = free_range(3)
    pool = PortPool(db, base, base + 2)
    assert pool.take("k1", 2) == [base, base + 1]
    assert pool.take("k1", 2) == [base, base + 1]  # redelivery
    with pytest.raises(ResourceExhausted, match="free host ports"):
        pool.take("k2", 2)
    pool.release("k1")
    assert pool.take("k2", 2) == [base, base + 1] and pool.kernels() == {"k2"}


def test_creation_slots_cap_concurrency_and_never_leak(db: StateDB) -> None:
    slots = CreationSlots(db, 1)
    with slots.hold("a"):
        assert slots.held() == 1
        with pytest.raises(Exception, match="no kernel-creation slot"), slots.hold("b", timeout=0.1):
            pass
    assert slots.held() == 0
    with pytest.raises(RuntimeError), slots.hold("c"):
        raise RuntimeError("boom")
    assert slots.held() == 0


def test_port_pool_skips_a_port_another_program_holds(db: StateDB) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        pool = PortPool(db, taken, taken + 64)  # room to spare: other ports may be busy too
        ports = pool.take("k1", 2)
        assert taken not in ports and len(set(ports)) == 2
