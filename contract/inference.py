"""Inference sessions: the model definition a creation carries in `internal_data.model_definition`,
and the state of a model service as the agent reports it."""

from __future__ import annotations

import posixpath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

ModelName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
AbsolutePath = Annotated[StrictStr, Field(pattern=r"^/", max_length=4096)]
RESERVED_PORTS = frozenset({2000, 2001})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WriteFile(_Strict):
    filename: AbsolutePath
    body: StrictStr = Field(max_length=1 << 20)
    mode: StrictStr = Field(default="644", pattern=r"^[0-7]{3,4}$")


class MakeDir(_Strict):
    path: AbsolutePath


class RunCommand(_Strict):
    command: list[StrictStr] | StrictStr = Field(min_length=1)
    timeout: float = Field(default=60.0, gt=0, le=3600)


class PreStartAction(_Strict):
    """Something done in the kernel before the service starts."""

    action: Literal["write_file", "mkdir", "run_command"]
    args: dict[str, Any] = {}

    @model_validator(mode="after")
    def _args_fit_the_action(self) -> PreStartAction:
        kinds: dict[str, type[BaseModel]] = {"write_file": WriteFile, "mkdir": MakeDir, "run_command": RunCommand}
        kind = kinds[self.action]
        self.args = kind.model_validate(self.args).model_dump()
        return self


class HealthCheck(_Strict):
    path: StrictStr = Field(default="/", pattern=r"^/")
    interval: float = Field(default=10.0, ge=0.1, le=3600)  # seconds between checks of a running service
    max_retries: int = Field(default=3, ge=1, le=100)  # failed checks in a row before it is unhealthy
    max_wait_time: float = Field(default=300.0, gt=0, le=86400)  # seconds it has to become healthy at start
    expected_status_code: int = Field(default=200, ge=100, le=599)
    timeout: float = Field(default=5.0, gt=0, le=300)  # seconds one check may take


class ModelService(_Strict):
    start_command: list[StrictStr] | StrictStr = Field(min_length=1)
    shell: StrictStr = "/bin/sh"  # runs start_command when it is a string
    pre_start_actions: list[PreStartAction] = []
    port: int = Field(ge=1, le=65535)
    environ: dict[StrictStr, StrictStr] = {}
    health_check: HealthCheck | None = None
    restart_on_failure: bool = False  # start it again when it dies

    @model_validator(mode="after")
    def _port_is_free_to_use(self) -> ModelService:
        if self.port in RESERVED_PORTS:
            raise ValueError(f"port {self.port} is reserved for the kernel's own services")
        return self


class ModelConfig(_Strict):
    name: ModelName
    model_path: AbsolutePath
    service: ModelService | None = None


class ModelDefinition(_Strict):
    models: list[ModelConfig] = Field(min_length=1, max_length=16)

    @model_validator(mode="after")
    def _names_and_ports_unique(self) -> ModelDefinition:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        ports = [m.service.port for m in self.models if m.service]
        if len(set(ports)) != len(ports):
            raise ValueError(f"model service ports must be unique, got {ports}")
        return self

    def served(self) -> list[ModelConfig]:
        """The models that have a service to start."""
        return [m for m in self.models if m.service is not None]


def path_is_below(path: str, roots: list[str]) -> bool:
    """Whether the normalised `path` is one of `roots` or below one."""
    p = posixpath.normpath(path)
    return any(p == r or p.startswith(r.rstrip("/") + "/") for r in map(posixpath.normpath, roots))


class ModelServiceState(BaseModel):
    """A model service's health as the agent last saw it."""

    model_name: str
    healthy: bool
    since: float  # when it became so (Unix time)
    last_error: str | None = None
