"""KernelObject: the kernel's registry record, filled with everything the stages prepared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from worker.stages.base import Provisioner
from worker.state.kernels import KernelRecord


@dataclass(frozen=True)
class KernelObjectSpec:
    record: KernelRecord


class KernelObject(BaseModel):
    kernel_id: str = ""


class KernelObjectProvisioner(Provisioner[KernelObjectSpec, KernelObject]):
    """Saves the record; the record's removal is the creation flow's last teardown step."""

    name = "kernel_object"
    resource_type = KernelObject

    def __init__(self, save: Callable[[KernelRecord], None]) -> None:
        self._save = save

    def setup(self, spec: KernelObjectSpec) -> KernelObject:
        self._save(spec.record)
        return KernelObject(kernel_id=spec.record.kernel_id)
