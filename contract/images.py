"""Requests and responses of the image operations: check_and_pull, push, purge, commit."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from contract.common import KernelId, Request, SafeRelPath
from contract.image_reference import ImageName, TaggableImageName


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
