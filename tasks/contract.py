"""Request and response models of every operation (the agent's stable contract with managers).

A task's keyword arguments are validated against its request model; field names are the spec's
parameter names. Responses are plain JSON made from the response models.
"""

from __future__ import annotations

import enum
import re
import signal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
)

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
KernelId = Annotated[StrictStr, Field(pattern=UUID_PATTERN, description="a kernel's UUID")]
SessionId = Annotated[StrictStr, Field(pattern=UUID_PATTERN, description="a session's UUID")]
# Docker's own rule for network names (and a sane length).
NetworkName = Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")]
ScalingGroup = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# A relative path of plain names: no '..', no absolute path, no empty part.
def _plain_relative(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{path!r} must be a relative path of plain names (no '..', no leading '/')")
    return path


SafeRelPath = Annotated[
    StrictStr, Field(pattern=r"^[A-Za-z0-9_.@+/-]{1,255}$"), AfterValidator(_plain_relative)
]
# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]{{1,5}})?"
_IMAGE_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REF_RE = re.compile(rf"^(?P<name>{_IMAGE_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")


def _image_reference(ref: str) -> str:
    m = IMAGE_REF_RE.match(ref)
    if m is None or len(m["name"]) > 255:
        raise ValueError(f"{ref!r} is not a valid image reference ([registry[:port]/]name[:tag][@digest])")
    return ref


def _taggable_reference(ref: str) -> str:
    if "@" in _image_reference(ref):
        raise ValueError(f"{ref!r} must be a name with an optional tag, not a digest reference")
    return ref


ImageName = Annotated[
    StrictStr, Field(max_length=512, description="an image reference"), AfterValidator(_image_reference)
]
# What a commit may name its image: a repository with an optional tag (a digest cannot be given).
TaggableImageName = Annotated[
    StrictStr, Field(max_length=512, description="repository[:tag]"), AfterValidator(_taggable_reference)
]


class Request(BaseModel):
    """Base of request models: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Empty(Request):
    pass


# --- system -----------------------------------------------------------------------------------------
class PingReq(Request):
    msg: StrictStr


class UpdateScalingGroupReq(Request):
    scaling_group: ScalingGroup


class HardwareMetadata(BaseModel):
    status: Literal["healthy", "degraded", "offline", "unavailable"]
    status_info: str | None = None
    metadata: dict[str, str] = {}


class ShutdownReq(Request):
    stop_signal: StrictStr | int = "SIGTERM"

    @field_validator("stop_signal")
    @classmethod
    def _known_signal(cls, v: str | int) -> str:
        try:
            return (signal.Signals[v] if isinstance(v, str) else signal.Signals(v)).name
        except (KeyError, ValueError):
            raise ValueError(f"unknown signal {v!r}") from None


# --- networks ---------------------------------------------------------------------------------------
class NetworkReq(Request):
    network_name: NetworkName


# --- images -----------------------------------------------------------------------------------------
class ImageRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr
    url: StrictStr
    username: StrictStr | None = None
    password: StrictStr | None = Field(default=None, repr=False)


class ImageRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
    project: StrictStr | None = None
    tag: StrictStr = Field(default="latest", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    registry: StrictStr = "local"
    architecture: StrictStr = "x86_64"
    is_local: StrictBool = False

    @property
    def canonical(self) -> str:
        parts = [p for p in (None if self.is_local else self.registry, self.project, self.name) if p]
        return "/".join(parts) + f":{self.tag}"


class ImageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    canonical: ImageName
    architecture: StrictStr = "x86_64"
    project: StrictStr | None = None
    is_local: StrictBool = False
    digest: StrictStr | None = None
    repo_digest: StrictStr | None = None
    registry: ImageRegistry | None = None
    labels: dict[str, str] = {}
    auto_pull: Literal["digest", "tag", "none"] = "digest"


class CheckAndPullReq(Request):
    image_configs: dict[ImageName, ImageConfig] = Field(min_length=1)


class PullImageReq(Request):
    """The background pull that check_and_pull starts for one image."""

    image: ImageName  # the config's canonical: names the pull in Flower and in the shared-pull key
    config: ImageConfig


class PushImageReq(Request):
    image_ref: ImageRef
    registry_conf: ImageRegistry
    timeout: float | None = Field(default=None, gt=0)  # None: the agent's image_push_timeout


class PurgeImagesReq(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    image_canonicals: list[ImageName] = Field(
        min_length=1, validation_alias=AliasChoices("image_canonicals", "images"))
    force: StrictBool = False
    noprune: StrictBool = False


class PurgeImagesTaskReq(Request):
    request: PurgeImagesReq


class PurgeImageResp(BaseModel):
    image: str
    error: str | None = None


class PurgeImagesResp(BaseModel):
    responses: list[PurgeImageResp]


class CommitStatus(enum.StrEnum):
    ONGOING = "ongoing"
    READY = "ready"


class GetCommitStatusReq(Request):
    kernel_id: KernelId
    subdir: SafeRelPath


class CommitReq(Request):
    kernel_id: KernelId
    subdir: SafeRelPath
    canonical: TaggableImageName | None = None
    filename: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")] | None = None
    extra_labels: dict[StrictStr, StrictStr] = {}


# --- kernels ----------------------------------------------------------------------------------------
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


# --- execution --------------------------------------------------------------------------------------
class ExecuteReq(Request):
    session_id: SessionId
    kernel_id: KernelId
    api_version: int = Field(default=4, ge=1)
    run_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    mode: Literal["query", "batch", "continue", "input"]
    code: StrictStr = ""
    opts: dict[str, Any] = {}
    flush_timeout: float = Field(default=2.0, ge=0, le=3600)


class GetCompletionsReq(Request):
    kernel_id: KernelId
    text: StrictStr
    opts: dict[str, Any] = {}


class StartServiceReq(Request):
    kernel_id: KernelId
    service: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    opts: dict[str, Any] = {}


class ShutdownServiceReq(Request):
    kernel_id: KernelId
    service: StrictStr


class TriggerBatchExecutionReq(Request):
    session_id: SessionId
    kernel_id: KernelId
    code: StrictStr
    timeout: float | None = Field(default=None, gt=0)


# --- files ------------------------------------------------------------------------------------------
class AcceptFileReq(Request):
    kernel_id: KernelId
    filename: StrictStr = Field(min_length=1, max_length=4096)
    filedata: bytes


class FilePathReq(Request):
    kernel_id: KernelId
    filepath: StrictStr = Field(min_length=1, max_length=4096,
                                validation_alias=AliasChoices("filepath", "path"))


class ListFilesResp(BaseModel):
    files: str
    errors: str
    abspath: str


def is_uuid(text: str) -> bool:
    return re.match(UUID_PATTERN, text) is not None
