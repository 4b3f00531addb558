"""purge_images: remove images one by one, each with its own error text."""

from __future__ import annotations

import logging

import docker
from docker.errors import APIError

from contract.images import PurgeImageResp, PurgeImagesReq, PurgeImagesResp

log = logging.getLogger(__name__)


def purge_images(client: docker.DockerClient, req: PurgeImagesReq) -> PurgeImagesResp:
    """Remove each image with `force`/`noprune`. With force, an image a running container uses loses
    its name but its content stays until the container goes (Docker never breaks a running container)."""
    return PurgeImagesResp(responses=[_purge_one(client, image, req.force, req.noprune)
                                      for image in req.image_canonicals])


def _purge_one(client: docker.DockerClient, image: str, force: bool, noprune: bool) -> PurgeImageResp:
    try:
        client.images.remove(image, force=force, noprune=noprune)
    except APIError as e:
        error = str(e.explanation or e)
        log.info("purge of %s refused: %s", image, error)
        return PurgeImageResp(image=image, error=error)
    log.info("purged %s", image)
    return PurgeImageResp(image=image)
