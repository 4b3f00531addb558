"""commit / get_commit_status: a kernel's container as a new image, optionally exported to a file.

Layout under the commit path: `{subdir}/lock/{kernel_id}` (exists while a commit runs) and
`{subdir}/{filename}` (the gzipped export).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, NotFound

from contract.errors import CommitFailed, InvalidInput, KernelNotFound, OutsideCommitPath
from contract.image_reference import parse_reference
from contract.images import CommitStatus
from worker.images.commit_lock import commit_lock
from worker.images.export import export_image

log = logging.getLogger(__name__)
LOCK_DIR = "lock"


@dataclass(frozen=True)
class CommitPaths:
    dir: Path
    lock: Path
    export: Path | None


def commit_paths(base: Path, subdir: str, kernel_id: str, filename: str | None = None) -> CommitPaths:
    """The commit's paths, refused (before anything is written) when one would leave `base`:
    `..` is refused by the request model, a symlink pointing out of `base` here."""
    base = base.resolve()
    directory = base / subdir
    lock = directory / LOCK_DIR / kernel_id
    if filename == LOCK_DIR:
        raise InvalidInput(f"filename {filename!r} is the name of the commit lock directory")
    export = directory / filename if filename else None
    for path in (directory, lock, export):
        if path is not None and not path.resolve().is_relative_to(base):
            raise OutsideCommitPath(f"{path} resolves outside the commit path {base}")
    return CommitPaths(directory, lock, export)


def commit_status(paths: CommitPaths) -> CommitStatus:
    return CommitStatus.ONGOING if paths.lock.exists() else CommitStatus.READY


@dataclass(frozen=True)
class CommitSpec:
    kernel_id: str
    container_id: str
    paths: CommitPaths
    canonical: str | None
    labels: dict[str, str]
    timeout: float


def commit_kernel(client: docker.DockerClient, spec: CommitSpec) -> str:
    """Commit the container (serialised per kernel and subdir by the lock file); export and delete
    the image when a filename was given. Returns the image id. On failure nothing is kept."""
    spec.paths.lock.parent.mkdir(parents=True, exist_ok=True)
    with commit_lock(spec.paths.lock, spec.timeout):
        image_id = _commit(client.api, spec)
        if spec.paths.export is None:
            return image_id
        try:
            size = export_image(client.api, image_id, spec.paths.export)
        except (DockerException, OSError) as e:
            raise CommitFailed(f"exporting the commit of kernel {spec.kernel_id} failed: {e}") from None
        finally:
            _remove_image(client, spec.canonical or image_id)
        log.info("exported kernel %s to %s (%d bytes)", spec.kernel_id, spec.paths.export, size)
        return image_id


def _commit(api: docker.APIClient, spec: CommitSpec) -> str:
    repo, tag = None, None
    if spec.canonical:
        ref = parse_reference(spec.canonical)
        repo, tag = ref.repository, ref.tag or "latest"
    params = {
        "container": spec.container_id, "repo": repo, "tag": tag, "pause": True,
        "changes": [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in spec.labels.items()],
    }
    try:
        # No body: an empty JSON config replaced the image's config on Docker 23.0.0-23.0.7/24.0.0.
        response = api._post(api._url("/commit"), params=params, timeout=spec.timeout)
        api._raise_for_status(response)
    except NotFound:
        raise KernelNotFound(spec.kernel_id) from None
    except (APIError, DockerException, OSError) as e:
        raise CommitFailed(f"committing kernel {spec.kernel_id} failed: {e}") from None
    image_id = str(response.json()["Id"])
    log.info("committed kernel %s as %s (%s)", spec.kernel_id, spec.canonical or "<untagged>", image_id)
    return image_id


def _remove_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.remove(image)
    except DockerException as e:
        log.warning("could not remove the intermediate image %s: %s", image, e)
