"""ImagePull: make sure the kernel's image is on the host, pulling it when the config says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, ImageNotFound
from pydantic import BaseModel

from worker.errors import ImageNotAvailable
from worker.stages.base import Provisioner


@dataclass(frozen=True)
class ImageSpec:
    canonical: str
    auto_pull: str = "digest"  # digest | tag | none
    digest: str | None = None
    is_local: bool = False
    username: str | None = None
    password: str | None = None
    # told just before a pull starts (for kernel_pulling)
    on_pull: Callable[[], None] = field(default=lambda: None, compare=False)


class ImageInfo(BaseModel):
    id: str
    labels: dict[str, str] = {}
    pulled: bool = False


class ImagePullProvisioner(Provisioner[ImageSpec, ImageInfo]):
    name = "image"
    resource_type = ImageInfo

    def __init__(self, client: docker.DockerClient) -> None:
        self._docker = client

    def setup(self, spec: ImageSpec) -> ImageInfo:
        try:
            image = self._docker.images.get(spec.canonical)
            stale = spec.auto_pull == "digest" and spec.digest is not None and image.id != spec.digest
            if not stale or spec.is_local:
                return ImageInfo(id=image.id, labels=image.labels or {})
        except ImageNotFound:
            if spec.is_local or spec.auto_pull == "none":
                raise ImageNotAvailable(f"image {spec.canonical} is not on this host and is not to be pulled") from None
        spec.on_pull()
        auth = {"username": spec.username, "password": spec.password} if spec.username else None
        try:
            image = self._docker.images.pull(spec.canonical, auth_config=auth)
        except (APIError, ImageNotFound) as e:
            raise ImageNotAvailable(f"image {spec.canonical} could not be pulled: {e.explanation or e}") from None
        return ImageInfo(id=image.id, labels=image.labels or {}, pulled=True)
