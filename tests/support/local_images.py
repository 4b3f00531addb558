"""Questions tests ask Docker about its local images."""

from __future__ import annotations

import docker
from docker.errors import ImageNotFound


def local_image_id(docker_client: docker.DockerClient, ref: str) -> str | None:
    """The id of the local image named `ref`, or None when there is none."""
    try:
        return str(docker_client.images.get(ref).id)
    except ImageNotFound:
        return None
