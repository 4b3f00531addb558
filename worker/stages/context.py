"""The shared context that carries a kernel's creation state between stages and chain steps.

It is JSON (it travels in Celery messages and is saved in the kernel's registry record after
every stage), so a crash at any point leaves a record of exactly what to tear down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contract.kernels import ClusterInfo, KernelCreationConfig, ServicePort
from worker.scratch_layout import ScratchLayout


class MountSpec(BaseModel):
    source: str
    target: str
    read_only: bool = False
    type: str = "bind"


class KernelContext(ScratchLayout, BaseModel):
    kernel_id: str
    session_id: str
    kernel_config: KernelCreationConfig
    cluster_info: ClusterInfo
    agent_id: str
    result_id: str | None = None  # the caller's result, failed by recovery if the worker dies
    scratch_dir: Path
    ipc_dir: Path
    uid: int
    gid: int
    supplementary_gids: list[int] = []
    internal_data: dict[str, Any] = {}
    # filled by stages
    image_id: str | None = None
    image_labels: dict[str, str] = {}
    resource_spec: dict[str, Any] = {}
    environ: dict[str, str] = {}
    mounts: list[MountSpec] = []
    network: str | None = None
    service_ports: list[ServicePort] = []
    command: list[str] = []
    container_info: dict[str, Any] = {}
    container_id: str | None = None
    # bookkeeping
    done: list[str] = []
    resources: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
