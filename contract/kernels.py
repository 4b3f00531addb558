"""Requests and responses of kernel creation and lifecycle, and the lifecycle reasons."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from contract.common import KernelId, NetworkName, Request, SessionId
from contract.images import ImageConfig, ImageRef


class LifecycleReason(enum.StrEnum):
    AGENT_TERMINATION = "agent-termination"
    ALREADY_TERMINATED = "already-terminated"
    ANOMALY_DETECTED = "anomaly-detected"
    EXEC_TIMEOUT = "exec-timeout"
    FAILED_TO_CREATE = "failed-to-create"
    FAILED_TO_START = "failed-to-start"
    FORCE_TERMINATED = "force-terminated"
    BOOTSTRAP_TIMEOUT = "bootstrap-timeout"
    HANG_TIMEOUT = "hang-timeout"
    IDLE_TIMEOUT = "idle-timeout"
    KILLED_BY_EVENT = "killed-by-event"
    NEW_CONTAINER_STARTED = "new-container-started"
    PENDING_TIMEOUT = "pending-timeout"
    RESTARTING = "restarting"
    RESTART_TIMEOUT = "restart-timeout"
    SELF_TERMINATED = "self-terminated"
    TASK_FAILED = "task-failed"
    TASK_TIMEOUT = "task-timeout"
    TASK_CANCELLED = "task-cancelled"
    TASK_FINISHED = "task-finished"
    TERMINATED_UNKNOWN_CONTAINER = "terminated-unknown-container"
    UNKNOWN = "unknown"
    USER_REQUESTED = "user-requested"
    NOT_FOUND_IN_MANAGER = "not-found-in-manager"
    CONTAINER_NOT_FOUND = "container-not-found"


class VFolderMount(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr
    host_path: StrictStr
    kernel_path: StrictStr = Field(pattern=r"^/")
    mount_perm: Literal["ro", "rw", "wd"] = "rw"


class DotfileSpec(BaseModel):
    path: StrictStr
    data: StrictStr
    perm: StrictStr = Field(default="644", pattern=r"^[0-7]{3,4}$")


class SSHKeypair(BaseModel):
    public_key: StrictStr
    private_key: StrictStr = Field(repr=False)


class ClusterInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mode: Literal["single-node", "multi-node"] = "single-node"
    size: int = Field(default=1, ge=1)
    replicas: dict[str, int] = {}
    network_config: dict[str, Any] = {}
    ssh_keypair: SSHKeypair | None = None
    cluster_ssh_port_mapping: dict[str, tuple[str, int]] | None = None


class KernelCreationConfig(BaseModel):
    """One kernel's creation config (the manager's KernelCreationConfig, the fields we use)."""

    model_config = ConfigDict(extra="ignore")
    image: ImageConfig
    resource_slots: dict[StrictStr, Annotated[float, Field(ge=0)] | StrictStr]
    resource_opts: dict[str, Any] = {}
    environ: dict[StrictStr, StrictStr] = {}
    mounts: list[VFolderMount] = []
    bootstrap_script: StrictStr | None = None
    startup_command: StrictStr | None = None
    internal_data: dict[str, Any] | None = None
    preopen_ports: list[Annotated[int, Field(ge=1, le=65535)]] = []
    session_type: Literal["interactive", "batch", "inference", "system"] = "interactive"
    cluster_role: StrictStr = "main"
    cluster_idx: int = Field(default=1, ge=0)
    cluster_hostname: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$")] = "main1"
    local_rank: int = Field(default=0, ge=0)
    network_id: NetworkName | None = None
    uid: int | None = Field(default=None, ge=0)
    main_gid: int | None = Field(default=None, ge=0)
    supplementary_gids: list[Annotated[int, Field(ge=0)]] = []
    idle_timeout: float | None = None


class CreateKernelsReq(Request):
    raw_session_id: SessionId
    raw_kernel_ids: list[KernelId] = Field(min_length=1)
    raw_configs: list[KernelCreationConfig] = Field(min_length=1)
    raw_cluster_info: ClusterInfo = ClusterInfo()
    kernel_image_refs: dict[KernelId, ImageRef] = {}


class ServicePort(BaseModel):
    name: str
    protocol: str
    container_ports: list[int]
    host_ports: list[int]
    is_inference: bool = False


class KernelCreationResult(BaseModel):
    id: str
    kernel_host: str
    container_id: str
    service_ports: list[ServicePort]
    resource_spec: dict[str, Any]
    attached_devices: dict[str, list[dict[str, Any]]]
    agent_addr: str
    scaling_group: str
    stage_timings: dict[str, float] = {}  # seconds each creation stage took, by stage name


class KernelReq(Request):
    kernel_id: KernelId


class DestroyKernelReq(Request):
    kernel_id: KernelId
    session_id: SessionId
    reason: LifecycleReason | None = None
    suppress_events: StrictBool = False


class RestartKernelReq(Request):
    kernel_id: KernelId
    session_id: SessionId
    kernel_image: ImageRef
    updated_config: dict[str, Any] = {}


class SyncKernelRegistryReq(Request):
    raw_kernel_session_ids: list[tuple[KernelId, SessionId]]
