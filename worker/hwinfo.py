"""Hardware facts of this host in the spec's HardwareMetadata shape, one entry per device kind."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime

from contract.system import HardwareMetadata
from worker.config import AgentSettings


def cpu_info() -> HardwareMetadata:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    return HardwareMetadata(status="healthy", metadata={
        "model_name": model, "cores": str(cores), "architecture": platform.machine()})


def memory_info() -> HardwareMetadata:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return HardwareMetadata(status="healthy", metadata={"total_bytes": str(total)})


def cuda_info() -> HardwareMetadata | None:
    """CUDA devices through NVML, or None when this host has no NVIDIA driver."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None  # no driver, no GPU: nothing to report
    try:
        count = pynvml.nvmlDeviceGetCount()
        meta = {
            "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
            "cuda_version": str(pynvml.nvmlSystemGetCudaDriverVersion_v2()),
            "device_count": str(count),
        }
        for i in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            meta[f"device.{i}.name"] = _text(pynvml.nvmlDeviceGetName(handle))
            meta[f"device.{i}.uuid"] = _text(pynvml.nvmlDeviceGetUUID(handle))
            meta[f"device.{i}.memory_bytes"] = str(mem.total)
        return HardwareMetadata(status="healthy", metadata=meta)
    except pynvml.NVMLError as e:
        return HardwareMetadata(status="unavailable", status_info=str(e))
    finally:
        pynvml.nvmlShutdown()


def mock_info(settings: AgentSettings) -> HardwareMetadata | None:
    if not settings.mock_devices:
        return None
    meta = {"name": "mock", "platform": "mock", "device_count": str(len(settings.mock_devices)),
            "last_updated": datetime.now(UTC).isoformat()}
    missing = [d.device_id for d in settings.mock_devices if not d.path.exists()]
    for d in settings.mock_devices:
        meta[f"device.{d.device_id}.model_name"] = d.model_name
    if missing:
        return HardwareMetadata(status="degraded", status_info=f"device files missing: {missing}",
                                metadata=meta)
    return HardwareMetadata(status="healthy", metadata=meta)


def _text(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v


def gather(settings: AgentSettings) -> dict[str, HardwareMetadata]:
    """Every device kind's metadata; a probe that fails reports `unavailable` instead of raising."""
    probes: dict[str, Callable[[], HardwareMetadata | None]] = {
        "cpu": cpu_info, "mem": memory_info, "cuda": cuda_info, "mock": lambda: mock_info(settings)}
    result: dict[str, HardwareMetadata] = {}
    for key, probe in probes.items():
        try:
            info = probe()
        except Exception as e:
            info = HardwareMetadata(status="unavailable", status_info=f"{type(e).__name__}: {e}")
        if info is not None:
            result[key] = info
    return result
