"""The host's accelerator devices: the `cuda` ones found through NVML (nvidia-ml-py), exclusive and
named by UUID, and the configured `mock` ones (files standing for devices, so the whole path runs
and is tested on machines without GPUs). Both are allocated the same way (worker/resources/allocator.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from worker.config import AgentSettings

log = logging.getLogger(__name__)

CUDA_SLOT = "cuda.device"
MOCK_SLOT = "mock.device"


@dataclass(frozen=True)
class Device:
    slot: str  # the resource slot a kernel asks for it by
    device_id: str  # the UUID of a CUDA device; the configured id of a mock one
    model_name: str
    memory: int  # bytes


def _text(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v


def discover_cuda() -> list[Device]:
    """The NVIDIA GPUs NVML sees; none (and no error) where there is no driver or no GPU."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle: Any = pynvml.nvmlDeviceGetHandleByIndex(i)
            found.append(Device(CUDA_SLOT, _text(pynvml.nvmlDeviceGetUUID(handle)),
                                _text(pynvml.nvmlDeviceGetName(handle)),
                                int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)))
        return found
    except pynvml.NVMLError as e:
        log.error("NVML could not list the GPUs: %s", e)
        return []
    finally:
        pynvml.nvmlShutdown()


def host_devices(settings: AgentSettings) -> list[Device]:
    """Every accelerator device of this host: the GPUs NVML finds and the configured mock devices."""
    mock = [Device(MOCK_SLOT, d.device_id, d.model_name, d.memory_size) for d in settings.mock_devices]
    return discover_cuda() + mock
