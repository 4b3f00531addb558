"""All-or-nothing allocation of cores, memory, mock devices and host ports, in the state database.

Every allocation is one transaction, so concurrent creations can never double-allocate, and a
crash never leaves half an allocation. Release is by kernel id and safe to repeat.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import dataclass, field

from contract.errors import ResourceExhausted
from worker.resources.slots import DEVICE_SLOTS, SlotRequest
from worker.state.db import StateDB

DEFAULT_CPU_OVERCOMMIT = 4.0  # cores' worth of kernels each core takes (pinned with cpusets, shared)


@dataclass(frozen=True)
class HostCapacity:
    cores: tuple[int, ...]
    mem: int
    mock_devices: tuple[str, ...] = ()
    cpu_overcommit: float = DEFAULT_CPU_OVERCOMMIT
    cuda_devices: tuple[str, ...] = ()  # GPU UUIDs

    def devices(self, slot: str) -> tuple[str, ...]:
        return self.cuda_devices if slot == "cuda.device" else self.mock_devices

    @property
    def slots(self) -> tuple[str, ...]:
        """The resource slots a kernel may ask for here (`cuda.device` only where there are GPUs)."""
        return ("cpu", "mem", "mock.device", *(("cuda.device",) if self.cuda_devices else ()))

    @classmethod
    def detect(cls, reserved_cpu: int, reserved_mem: int, mock_devices: tuple[str, ...] = (),
               cpu_overcommit: float = DEFAULT_CPU_OVERCOMMIT, cuda_devices: tuple[str, ...] = ()) -> HostCapacity:
        cores = tuple(sorted(os.sched_getaffinity(0)))
        if reserved_cpu and len(cores) > reserved_cpu:
            cores = cores[reserved_cpu:]
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return cls(cores=cores, mem=max(total - reserved_mem, 0), mock_devices=mock_devices,
                   cpu_overcommit=cpu_overcommit, cuda_devices=cuda_devices)


@dataclass(frozen=True)
class Allocation:
    cores: list[int] = field(default_factory=list)
    mem: int = 0
    mock_devices: list[str] = field(default_factory=list)
    cpu: float = 0.0  # cores' worth of CPU time (a fraction of one allowed), spread over `cores`
    cuda_devices: list[str] = field(default_factory=list)


class Allocator:
    def __init__(self, db: StateDB, capacity: HostCapacity) -> None:
        self._db = db
        self.capacity = capacity

    def allocate(self, kernel_id: str, req: SlotRequest) -> Allocation:
        """Reserve what `req` asks for, or raise ResourceExhausted having reserved nothing."""
        cap = self.capacity
        if req.cores > len(cap.cores):
            raise ResourceExhausted(f"kernel asks for {req.cpu:g} cores; this host has {len(cap.cores)}")
        with self._db.transaction() as conn:
            existing = self._load(conn, kernel_id)
            if existing is not None:
                return existing  # a redelivered step: the allocation is already there
            used_mem = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM allocations WHERE slot='mem'").fetchone()[0]
            if used_mem + req.mem > cap.mem:
                raise ResourceExhausted(
                    f"kernel asks for {req.mem} bytes of memory; {max(cap.mem - int(used_mem), 0)} of "
                    f"{cap.mem} are free")
            load = dict.fromkeys(cap.cores, 0.0)
            for core, amount in conn.execute("SELECT device_id, amount FROM allocations WHERE slot='cpu'"):
                if int(core) in load:
                    load[int(core)] += amount
            share = req.cpu / req.cores  # of each pinned core
            cores = sorted(sorted(load, key=lambda c: (load[c], c))[: req.cores])
            if any(load[c] + share > cap.cpu_overcommit + 1e-9 for c in cores):
                raise ResourceExhausted(f"no {req.cores} cores with room left for {share:g} of a core each "
                                        f"(each core takes {cap.cpu_overcommit:g} cores' worth of kernels)")
            devices = {slot: self._free_devices(conn, slot, req.devices(slot)) for slot in DEVICE_SLOTS}
            rows = [(kernel_id, "cpu", str(c), share) for c in cores]
            rows.append((kernel_id, "mem", "root", float(req.mem)))
            rows += [(kernel_id, slot, d, 1.0) for slot, ids in devices.items() for d in ids]
            conn.executemany("INSERT INTO allocations VALUES (?, ?, ?, ?)", rows)
        return Allocation(cores=cores, mem=req.mem, mock_devices=devices["mock.device"], cpu=req.cpu,
                          cuda_devices=devices["cuda.device"])

    def _free_devices(self, conn: sqlite3.Connection, slot: str, count: int) -> list[str]:
        """`count` devices of `slot` no kernel holds (each device is one kernel's), or ResourceExhausted."""
        if count == 0:
            return []
        all_ids = self.capacity.devices(slot)
        taken = {r[0] for r in conn.execute("SELECT device_id FROM allocations WHERE slot = ?", (slot,))}
        free = [d for d in all_ids if d not in taken]
        if count > len(free):
            kind = "GPUs" if slot == "cuda.device" else "mock devices"
            raise ResourceExhausted(f"kernel asks for {count} {kind}; {len(free)} of {len(all_ids)} are free")
        return free[:count]

    def release(self, kernel_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM allocations WHERE kernel_id = ?", (kernel_id,))

    def of(self, kernel_id: str) -> Allocation | None:
        return self._load(self._db.read(), kernel_id)

    def kernels(self) -> set[str]:
        return {r[0] for r in self._db.read().execute("SELECT DISTINCT kernel_id FROM allocations")}

    @staticmethod
    def _load(conn: sqlite3.Connection, kernel_id: str) -> Allocation | None:
        rows = conn.execute(
            "SELECT slot, device_id, amount FROM allocations WHERE kernel_id = ?", (kernel_id,)).fetchall()
        if not rows:
            return None
        return Allocation(
            cores=sorted(int(d) for s, d, _ in rows if s == "cpu"),
            cpu=round(sum(a for s, _, a in rows if s == "cpu"), 2),
            mem=int(sum(a for s, _, a in rows if s == "mem")),
            mock_devices=sorted(d for s, d, _ in rows if s == "mock.device"),
            cuda_devices=sorted(d for s, d, _ in rows if s == "cuda.device"),
        )


def free_on_host(host: str, port: int) -> bool:
    """Nothing else on this host holds `port` (another program, another agent's kernel)."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class PortPool:
    """Host ports for kernels' published services, from the configured range; a port some other
    program holds is skipped, so a busy port never fails a creation."""

    def __init__(self, db: StateDB, low: int, high: int, bind_host: str = "127.0.0.1") -> None:
        self._db = db
        self.low, self.high = low, high
        self.bind_host = bind_host

    def take(self, kernel_id: str, count: int) -> list[int]:
        if count == 0:
            return []
        with self._db.transaction() as conn:
            mine = [r[0] for r in conn.execute(
                "SELECT port FROM host_ports WHERE kernel_id = ? ORDER BY port", (kernel_id,))]
            if len(mine) >= count:
                return mine[:count]  # a redelivered step
            used = {r[0] for r in conn.execute("SELECT port FROM host_ports")}
            free = (p for p in range(self.low, self.high + 1)
                    if p not in used and free_on_host(self.bind_host, p))
            ports = [p for _, p in zip(range(count - len(mine)), free, strict=False)]
            if len(ports) < count - len(mine):
                raise ResourceExhausted(f"no {count} free host ports left in {self.low}-{self.high}")
            conn.executemany("INSERT INTO host_ports (port, kernel_id) VALUES (?, ?)",
                             [(p, kernel_id) for p in ports])
        return mine + ports

    def release(self, kernel_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM host_ports WHERE kernel_id = ?", (kernel_id,))

    def kernels(self) -> set[str]:
        return {r[0] for r in self._db.read().execute("SELECT DISTINCT kernel_id FROM host_ports")}
