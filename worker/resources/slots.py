"""Parsing and checking the resource slots a kernel asks for."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from contract.errors import UnsupportedResource

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
KNOWN_SLOTS = ("cpu", "mem", "mock.device", "cuda.device")
DEVICE_SLOTS = ("mock.device", "cuda.device")  # exclusive devices, by count
T = TypeVar("T")


def parse_bytes(value: float | str) -> int:
    """`"256m"`, `"1g"`, `"1.5GiB"` or a number of bytes."""
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a size (e.g. 268435456, '256m', '1g')")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_count(value: float | str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if n < 0 or not math.isfinite(n):
        raise ValueError(f"{value!r} must be a non-negative number")
    return n


CPU_STEP = 0.01  # the finest fraction of a core a kernel can ask for


@dataclass(frozen=True)
class SlotRequest:
    """What one kernel asks for: cores (a fraction of one allowed), bytes of memory, mock devices."""

    cpu: float
    mem: int
    mock_devices: int
    cuda_devices: int = 0

    @property
    def cores(self) -> int:
        """How many cores the kernel is pinned to: the cores it asks for, rounded up."""
        return math.ceil(self.cpu - 1e-9)

    def as_slots(self) -> dict[str, str]:
        return {"cpu": f"{self.cpu:g}", "mem": str(self.mem), "mock.device": str(self.mock_devices),
                "cuda.device": str(self.cuda_devices)}

    def devices(self, slot: str) -> int:
        return self.cuda_devices if slot == "cuda.device" else self.mock_devices


def parse_slots(slots: dict[str, float | str], known: tuple[str, ...] = KNOWN_SLOTS,
                fractional_cpu: bool = True) -> SlotRequest:
    """Validate a kernel's `resource_slots`; unknown slots with a non-zero amount are refused.
    `cpu` is kept to hundredths of a core, or rounded up to whole cores unless `fractional_cpu`."""
    for name, amount in slots.items():
        if name in known:
            continue
        try:
            asked_for_none = parse_count(amount) == 0
        except ValueError:
            asked_for_none = False
        if not asked_for_none:
            raise UnsupportedResource(f"resource slot {name!r} is not available on this host "
                                      f"(known: {', '.join(known)})")
    if "cpu" not in slots or "mem" not in slots:
        raise UnsupportedResource("resource_slots must include 'cpu' and 'mem'")
    asked = _parsed("cpu", parse_count, slots["cpu"])
    cpu = round(asked, 2) if fractional_cpu else float(math.ceil(asked))
    mem = _parsed("mem", parse_bytes, slots["mem"])
    mock = math.ceil(_parsed("mock.device", parse_count, slots.get("mock.device", 0)))
    cuda = math.ceil(_parsed("cuda.device", parse_count, slots.get("cuda.device", 0)))
    if cpu < CPU_STEP:
        raise UnsupportedResource(f"resource_slots.cpu must be at least {CPU_STEP:g} of a core, got {asked:g}")
    if mem < 64 << 20:
        raise UnsupportedResource(f"resource_slots.mem must be at least 64 MiB, got {mem} bytes")
    return SlotRequest(cpu=cpu, mem=mem, mock_devices=mock, cuda_devices=cuda)


def _parsed(slot: str, parse: Callable[[float | str], T], value: float | str) -> T:
    try:
        return parse(value)
    except ValueError as e:
        raise UnsupportedResource(f"resource_slots.{slot}: {e}") from None
