"""ImagePull: make sure the kernel's image is on the host, pulling it when the config says so.

Whether to pull and the pull itself (with image_pull_* progress events) are the images area's
(`worker.images.pull`); this stage adds the kernel's side: kernel_pulling, and the image's facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import docker
from pydantic import BaseModel

from contract.images import ImageConfig
from worker.images.pull import Puller, pull_reason
from worker.stages.base import Provisioner


@dataclass(frozen=True)
class ImageSpec:
    config: ImageConfig
    # told just before a pull starts (for kernel_pulling)
    on_pull: Callable[[], None] = field(default=lambda: None, compare=False)


class ImageInfo(BaseModel):
    id: str
    labels: dict[str, str] = {}
    pulled: bool = False


class ImagePullProvisioner(Provisioner[ImageSpec, ImageInfo]):
    name = "image"
    resource_type = ImageInfo

    def __init__(self, client: docker.DockerClient, puller: Puller) -> None:
        self._docker = client
        self._puller = puller

    def setup(self, spec: ImageSpec) -> ImageInfo:
        pulled = False
        if pull_reason(self._docker, spec.config) is not None:  # ImageNotAvailable when it may not pull
            spec.on_pull()
            pulled = self._puller.run(spec.config)
        image = self._docker.images.get(spec.config.canonical)
        return ImageInfo(id=image.id, labels=image.labels or {}, pulled=pulled)
