"""ImagePull: make sure the kernel's image is on the host, pulling it when the config says so.

Whether to pull and the pull itself (with image_pull_* progress events) are the images area's
(`worker.images.pull`); this stage adds the kernel's side: it tells the creation flow as soon as
it knows whether it pulls (for kernel_pulling), and records the image's id and labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker
from pydantic import BaseModel

from contract.images import ImageConfig
from worker.images.pull import Puller, pull_reason
from worker.kernel_secrets import KernelSecrets
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage


@dataclass(frozen=True)
class ImageSpec:
    kernel_id: str
    session_id: str
    config: ImageConfig


class ImageInfo(BaseModel):
    id: str
    labels: dict[str, str] = {}
    pulled: bool = False


# Told, before any pull starts, whether the image is pulled for this kernel.
PullDecided = Callable[[ImageSpec, bool], None]


class ImagePullStage(Stage[ImageSpec, ImageInfo]):
    name = "image"
    resource_type = ImageInfo
    provides = ("image",)

    def __init__(self, client: docker.DockerClient, puller: Puller, on_decided: PullDecided,
                 secrets: KernelSecrets) -> None:
        self._docker = client
        self._secrets = secrets
        self._puller = puller
        self._on_decided = on_decided

    def spec(self, ctx: KernelContext) -> ImageSpec:
        return ImageSpec(ctx.kernel_id, ctx.session_id, self._secrets.reveal(ctx).kernel_config.image)

    def setup(self, spec: ImageSpec) -> ImageInfo:
        try:
            pulling = pull_reason(self._docker, spec.config) is not None  # ImageNotAvailable if it may not pull
        except Exception:
            self._on_decided(spec, False)
            raise
        self._on_decided(spec, pulling)
        pulled = self._puller.run(spec.config) if pulling else False
        image = self._docker.images.get(spec.config.canonical)
        return ImageInfo(id=image.id, labels=image.labels or {}, pulled=pulled)
