"""gather_hwinfo's shape, and the NVML path with a stand-in pynvml (no GPU on the test machines)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from worker import hwinfo
from worker.config import AgentSettings, MockDevice


class NVMLError(Exception):
    pass


def fake_pynvml(count: int, fail_init: bool = False) -> types.ModuleType:
    m = types.ModuleType("pynvml")
    m.NVMLError = NVMLError  # type: ignore[attr-defined]

    def init() -> None:
        if fail_init:
            raise NVMLError("NVML Shared Library Not Found")

    m.nvmlInit = init  # type: ignore[attr-defined]
    m.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    m.nvmlDeviceGetCount = lambda: count  # type: ignore[attr-defined]
    m.nvmlSystemGetDriverVersion = lambda: b"550.54"  # type: ignore[attr-defined]
    m.nvmlSystemGetCudaDriverVersion_v2 = lambda: 12040  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    m.nvmlDeviceGetName = lambda h: "NVIDIA H100 80GB HBM3"  # type: ignore[attr-defined]
    m.nvmlDeviceGetUUID = lambda h: f"GPU-{h}"  # type: ignore[attr-defined]
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=80 << 30)  # type: ignore[attr-defined]
    return m


def test_a_host_without_a_driver_reports_no_cuda_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(0, fail_init=True))
    assert hwinfo.cuda_info() is None
    info = hwinfo.gather(AgentSettings())
    assert "cuda" not in info and info["cpu"].status == "healthy" and info["mem"].status == "healthy"


def test_cuda_devices_are_described_through_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(2))
    info = hwinfo.cuda_info()
    assert info is not None and info.status == "healthy"
    assert info.metadata["device_count"] == "2" and info.metadata["driver_version"] == "550.54"
    assert info.metadata["device.1.uuid"] == "GPU-1"
    assert info.metadata["device.0.memory_bytes"] == str(80 << 30)


def test_a_failing_probe_is_reported_unavailable_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise OSError("/proc is not mounted")

    monkeypatch.setattr(hwinfo, "cpu_info", broken)
    info = hwinfo.gather(AgentSettings())
    assert info["cpu"].status == "unavailable" and "/proc is not mounted" in (info["cpu"].status_info or "")


def test_mock_devices_are_degraded_when_their_files_are_missing(tmp_path: Path) -> None:
    present = tmp_path / "m0"
    present.write_text("x")
    s = AgentSettings(mock_devices=[MockDevice(device_id="m0", path=present),
                                    MockDevice(device_id="m1", path=tmp_path / "gone")])
    info = hwinfo.mock_info(s)
    assert info is not None and info.status == "degraded" and "m1" in (info.status_info or "")
