"""Resource: reserve cores, memory and accelerator devices for the kernel."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.resources.allocator import Allocator
from worker.resources.slots import SlotRequest, parse_slots


@dataclass(frozen=True)
class ResourceSpec:
    kernel_id: str
    request: SlotRequest


class AllocatedResources(BaseModel):
    kernel_id: str = ""
    cores: list[int] = []
    mem: int = 0
    mock_devices: list[str] = []
    cpu: float = 0.0  # cores' worth of CPU time over `cores` (0 in records older than fractions: len(cores))
    cuda_devices: list[str] = []  # GPU UUIDs

    @property
    def cpu_amount(self) -> float:
        return self.cpu or float(len(self.cores))

    def resource_spec(self) -> dict[str, object]:
        return {"slots": {"cpu": f"{self.cpu_amount:g}", "mem": str(self.mem),
                          "mock.device": str(len(self.mock_devices)), "cuda.device": str(len(self.cuda_devices))},
                "cpu_set": self.cores, "mem": self.mem, "mock_devices": self.mock_devices,
                "cuda_devices": self.cuda_devices}


class ResourceStage(Stage[ResourceSpec, AllocatedResources]):
    name = "resource"
    resource_type = AllocatedResources
    provides = ("allocation",)

    def __init__(self, allocator: Allocator, fractional_cpu: bool = True) -> None:
        self._allocator = allocator
        self._fractional_cpu = fractional_cpu

    def spec(self, ctx: KernelContext) -> ResourceSpec:
        return ResourceSpec(ctx.kernel_id, parse_slots(ctx.kernel_config.resource_slots,
                                                       self._allocator.capacity.slots, self._fractional_cpu))

    def setup(self, spec: ResourceSpec) -> AllocatedResources:
        a = self._allocator.allocate(spec.kernel_id, spec.request)
        return AllocatedResources(kernel_id=spec.kernel_id, cores=a.cores, mem=a.mem, mock_devices=a.mock_devices,
                                  cpu=a.cpu, cuda_devices=a.cuda_devices)

    def teardown(self, resource: AllocatedResources) -> None:
        if resource.kernel_id:
            self._allocator.release(resource.kernel_id)

    def leftover(self, ctx: KernelContext) -> AllocatedResources:
        return AllocatedResources(kernel_id=ctx.kernel_id)  # allocations are keyed by kernel id
