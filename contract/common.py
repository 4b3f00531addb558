"""Types every area of the contract shares: ids, names, relative paths, the request base."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

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


class Request(BaseModel):
    """Base of request models: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Empty(Request):
    pass


def is_uuid(text: str) -> bool:
    return re.match(UUID_PATTERN, text) is not None
