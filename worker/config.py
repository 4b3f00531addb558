"""The agent's one settings table: `AgentSettings`, read from agent.toml and `AGENT_*` variables.

agent.toml groups keys in sections (`[agent]`, `[container]`, `[resource]`, ...) for people; the
sections are only grouping: `[agent] scaling-group = "x"` sets field `scaling_group`.
Precedence: explicit arguments > environment (`AGENT_<FIELD>`) > agent.toml > defaults.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from contract.config_file import read_config_file
from contract.naming import AGENT_ID_PATTERN, DEFAULT_EVENTS_STREAM, DEFAULT_REDIS_URL, queue_name, worker_name
from contract.redis_target import parse_redis_url
from worker.resources.slots import parse_bytes

ByteSize = Annotated[int, BeforeValidator(parse_bytes)]  # bytes, or "64m", "10g"


class MockDevice(BaseModel):
    """One device of the `mock` accelerator: a real file stands in for the device node."""

    device_id: str
    model_name: str = "Mock Accelerator"
    memory_size: int = 1 << 30
    processing_units: int = 8
    path: Path


class AgentSettings(BaseSettings):
    """Everything the agent reads from its environment. docs/operations.md lists every key."""

    model_config = SettingsConfigDict(env_prefix="AGENT_", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)  # a redis_url holds a password

    # [agent]
    id: str = Field(default_factory=socket.gethostname, pattern=AGENT_ID_PATTERN)
    scaling_group: str = Field(default="default", min_length=1)
    region: str = "local"
    var_dir: Path = Path("var")
    heartbeat_interval: float = Field(default=20.0, gt=0)
    # [redis]
    redis_url: str = DEFAULT_REDIS_URL
    events_stream: str = DEFAULT_EVENTS_STREAM
    events_maxlen: int = Field(default=10_000, ge=100)
    # [worker]
    concurrency: int = Field(default=16, ge=1, le=256)
    control_threads: int = Field(default=4, ge=1, le=64)
    task_expires: float = Field(default=600.0, gt=0)
    # [container]
    scratch_root: Path | None = None
    commit_path: Path | None = None
    kernel_uid: int = Field(default=1000, ge=0)
    kernel_gid: int = Field(default=1000, ge=0)
    port_range: tuple[int, int] = (30000, 31000)
    bind_host: str = "127.0.0.1"
    kernel_creation_concurrency: int = Field(default=4, ge=1, le=32)
    stage_parallelism: int = Field(default=4, ge=1, le=32)
    runner_handshake_timeout: float = Field(default=30.0, gt=0)
    docker_timeout: float = Field(default=60.0, gt=0)
    restart_timeout: float = Field(default=60.0, gt=0)
    reconcile_interval: float = Field(default=10.0, gt=0)
    reconcile_grace: float = Field(default=30.0, ge=0)
    image_pull_timeout: float = Field(default=7200.0, gt=0)
    image_push_timeout: float = Field(default=7200.0, gt=0)
    image_commit_timeout: float = Field(default=3600.0, gt=0)
    # [resource]
    reserved_cpu: int = Field(default=0, ge=0)
    reserved_mem: int = Field(default=256 << 20, ge=0)
    cpu_overcommit: float = Field(default=4.0, gt=0, le=1000)
    fractional_cpu: bool = True
    mock_devices: list[MockDevice] = Field(default_factory=list)
    # [files]
    max_archive_size: int = Field(default=1 << 20, gt=0)
    max_upload_size: int = Field(default=1 << 20, gt=0)
    max_list_entries: int = Field(default=10_000, gt=0)
    # [execution]
    max_code_size: int = Field(default=1 << 20, gt=0)
    max_logs_size: int = Field(default=1 << 20, gt=0)
    container_log_max_size: str = Field(default="10m", pattern=r"^[0-9]+[kmg]?$")
    container_log_max_files: int = Field(default=3, ge=1, le=100)
    # [metrics]
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_address: str = "127.0.0.1"
    # [isolation] what manager input may ask for, and how kernels are kept apart (docs/security.md)
    vfolder_roots: list[Path] = Field(default_factory=list)
    allow_root_kernels: bool = False
    scratch_type: Literal["dir", "hostfile"] = "dir"
    scratch_size: ByteSize = Field(default=10 << 30, ge=16 << 20)

    @field_validator("port_range")
    @classmethod
    def _ordered_ports(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not (1024 <= lo < hi <= 65535):
            raise ValueError(f"port_range must be 1024 <= low < high <= 65535, got {lo}-{hi}")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_target(cls, v: str) -> str:
        parse_redis_url(v)  # a Sentinel URL without its master's name, a db that is not a number
        return v

    @property
    def queue(self) -> str:
        """The host's own Celery queue."""
        return queue_name(self.id)

    @property
    def worker_name(self) -> str:
        return worker_name(self.id)

    @property
    def scratch_dir(self) -> Path:
        return (self.scratch_root or self.var_dir / "scratches").resolve()

    @property
    def commit_dir(self) -> Path:
        return (self.commit_path or self.var_dir / "commit").resolve()

    @property
    def ipc_dir(self) -> Path:
        """Per-kernel directories holding the runner's Unix socket, mounted into each kernel."""
        return (self.var_dir / "ipc").resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlSource(settings_cls)


class TomlSource(PydanticBaseSettingsSource):
    """Reads agent.toml (path from `AGENT_CONFIG`); a missing file means defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_config_file()


def load_settings(**overrides: Any) -> AgentSettings:
    """Read the settings now (environment and agent.toml as they are at this moment)."""
    return AgentSettings(**overrides)
