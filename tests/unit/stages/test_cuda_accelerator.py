"""The `cuda` accelerator with a stand-in NVML (no GPU on the test machines): devices found by UUID,
allocated exclusively, handed to the container as an NVIDIA device request, written to
resource.txt and the creation result like the mock accelerator's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from contract.errors import ResourceExhausted, UnsupportedResource
from tests.unit.system.test_hwinfo import fake_pynvml
from worker.config import AgentSettings
from worker.pipeline.context import KernelContext
from worker.resources.accelerators import CUDA_SLOT, Device, discover_cuda, host_devices
from worker.resources.allocator import Allocator, HostCapacity
from worker.resources.slots import SlotRequest, parse_slots
from worker.stages.config_files import resource_lines
from worker.stages.container import ContainerCreationStage
from worker.stages.environ import EnvironStage
from worker.stages.resource import AllocatedResources
from worker.state.db import StateDB

GPUS = ("GPU-0", "GPU-1")


@pytest.fixture
def gpus_host(tmp_path: Path) -> Allocator:
    return Allocator(StateDB(tmp_path / "agent.db"), HostCapacity(cores=(0, 1), mem=1 << 40, cuda_devices=GPUS))


def test_nvml_devices_are_found_by_uuid_and_none_without_a_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(2))
    assert discover_cuda() == [Device(CUDA_SLOT, "GPU-0", "NVIDIA H100 80GB HBM3", 80 << 30),
                               Device(CUDA_SLOT, "GPU-1", "NVIDIA H100 80GB HBM3", 80 << 30)]
    assert [d.slot for d in host_devices(AgentSettings(mock_devices=[]))] == [CUDA_SLOT, CUDA_SLOT]
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(0, fail_init=True))
    assert discover_cuda() == []


def test_gpus_are_allocated_exclusively_by_uuid(gpus_host: Allocator) -> None:
    a = gpus_host.allocate("a", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0, cuda_devices=1))
    b = gpus_host.allocate("b", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0, cuda_devices=1))
    assert {*a.cuda_devices, *b.cuda_devices} == set(GPUS)
    with pytest.raises(ResourceExhausted, match="1 GPUs; 0 of 2 are free"):
        gpus_host.allocate("c", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0, cuda_devices=1))
    assert gpus_host.of("a") == a  # read back from the state database
    gpus_host.release("a")
    assert gpus_host.allocate("c", SlotRequest(cpu=1, mem=64 << 20, mock_devices=0, cuda_devices=1)).cuda_devices \
        == a.cuda_devices


def test_cuda_device_is_a_slot_only_where_there_are_gpus(gpus_host: Allocator) -> None:
    assert parse_slots({"cpu": 1, "mem": "1g", "cuda.device": 2}, gpus_host.capacity.slots).cuda_devices == 2
    with pytest.raises(UnsupportedResource, match=r"'cuda\.device' is not available"):
        parse_slots({"cpu": 1, "mem": "1g", "cuda.device": 1}, HostCapacity(cores=(0,), mem=1 << 30).slots)


def test_the_container_gets_its_gpus_through_an_nvidia_device_request(
        ctx: KernelContext, fake_docker: object) -> None:
    from tests.unit.stages.test_container_stages import prepared

    prepared(ctx)
    gpu = AllocatedResources(kernel_id=ctx.kernel_id, cores=[1], mem=256 << 20, cuda_devices=["GPU-1"])
    ctx.record("resource", gpu, 0)
    stage = ContainerCreationStage(fake_docker, AgentSettings())  # type: ignore[arg-type]
    stage.setup(stage.spec(ctx))
    [request] = fake_docker.api.created[0]["host_config"]["device_requests"]  # type: ignore[attr-defined]
    assert request["Driver"] == "nvidia" and request["DeviceIDs"] == ["GPU-1"] and request["Capabilities"] == [["gpu"]]
    assert resource_lines(ctx)["CUDA.DEVICE_SHARES"] == "GPU-1:1"
    env = EnvironStage().setup(EnvironStage().spec(ctx)).environ
    assert env["GPU_COUNT"] == env["N_GPUS"] == "1"


def test_the_creation_result_names_the_attached_gpus(ctx: KernelContext) -> None:
    from worker.kernels.records import creation_result
    from worker.stages.container import ContainerInfo
    from worker.stages.ports import ServicePorts

    ctx.record("resource", AllocatedResources(kernel_id=ctx.kernel_id, cores=[0], mem=1 << 30, cuda_devices=["GPU-0"]),
               0)
    ctx.record("container_creation", ContainerInfo(container_id="c", kernel_id=ctx.kernel_id), 0)
    ctx.record("service_ports", ServicePorts(kernel_id=ctx.kernel_id), 0)
    result = creation_result(AgentSettings(), [Device(CUDA_SLOT, "GPU-0", "NVIDIA H100", 80 << 30)], ctx)
    assert result.attached_devices == {"cuda": [{"device_id": "GPU-0", "model_name": "NVIDIA H100",
                                                 "data": {"mem": 80 << 30}}]}
    assert result.resource_spec["slots"]["cuda.device"] == "1"
