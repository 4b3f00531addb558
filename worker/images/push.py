"""push_image: push a local image to its registry with the registry's credentials."""

from __future__ import annotations

import logging

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from contract.errors import ImageNotAvailable, ImagePushFailed
from contract.image_reference import parse_reference
from contract.images import ImageRef, ImageRegistry
from worker.images.docker_stream import StreamTimeout, stream_post
from worker.images.registry_auth import auth_headers

log = logging.getLogger(__name__)


def push_image(client: docker.DockerClient, ref: ImageRef, registry: ImageRegistry, timeout: float) -> None:
    """Push `ref.canonical`; nothing for a local image. Succeeds only when the registry confirmed
    the manifest's digest; ImagePushFailed (a RuntimeError) otherwise, the password never shown."""
    if ref.is_local:
        log.debug("push of local image %s skipped", ref.canonical)
        return
    canonical = ref.canonical
    try:
        parsed = parse_reference(canonical)
    except ValueError as e:
        raise ImagePushFailed(str(e)) from None
    try:
        client.images.get(canonical)
    except ImageNotFound:
        raise ImageNotAvailable(f"image {canonical} is not on this host, nothing to push") from None
    digest = None
    try:
        stream = stream_post(
            client.api, f"/images/{parsed.repository}/push", params={"tag": parsed.tag or "latest"},
            headers=auth_headers(registry, parsed.registry), timeout=timeout,
        )
        for msg in stream:
            if "error" in msg:
                raise ImagePushFailed(f"pushing {canonical} to {registry.name} failed: {msg['error']}")
            digest = (msg.get("aux") or {}).get("Digest") or digest
    except StreamTimeout:
        raise ImagePushFailed(
            f"pushing {canonical} to {registry.name} failed: timeout (s:{timeout:g})") from None
    except (APIError, DockerException, OSError) as e:
        detail = e.explanation if isinstance(e, APIError) else e
        raise ImagePushFailed(f"pushing {canonical} to {registry.name} failed: {detail}") from None
    if digest is None:
        raise ImagePushFailed(f"pushing {canonical} to {registry.name} ended without the registry's digest")
    log.info("pushed %s to %s (%s)", canonical, registry.name, digest)
