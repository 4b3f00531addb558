"""Tasks for images: check_and_pull (+ its background pull_image), push_image, purge_images,
commit and get_commit_status. Registry passwords are masked in what Celery shows and stores."""

from __future__ import annotations

import functools

from celery.result import AsyncResult

from contract import operations as ops
from contract.errors import KernelNotFound
from contract.images import (
    CheckAndPullReq,
    CommitReq,
    CommitStatus,
    GetCommitStatusReq,
    ImageConfig,
    PullImageReq,
    PurgeImagesResp,
    PurgeImagesTaskReq,
    PushImageReq,
)
from contract.redaction import redacted_repr
from tasks.agent_task import agent_task
from worker.app import app
from worker.images import commit as commits
from worker.images.pull import Puller
from worker.images.purge import purge_images as purge
from worker.images.push import push_image as push
from worker.images.shared_pulls import SharedPulls
from worker.runtime import host


def _shared_pulls() -> SharedPulls:
    h = host()
    return SharedPulls(h.redis, h.settings.id, ttl=h.settings.image_pull_timeout + 60)


def _send_pull(task_id: str, *, cfg: ImageConfig) -> None:
    kwargs = PullImageReq(image=cfg.canonical, config=cfg).model_dump(mode="json")
    # No queue named: the app's default queue is this host's, so the pull runs here.
    app.send_task(ops.PULL_IMAGE.name, kwargs=kwargs, task_id=task_id, kwargsrepr=redacted_repr(kwargs))


def _finished(task_id: str) -> bool:
    return bool(AsyncResult(task_id, app=app).ready())


@agent_task(ops.CHECK_AND_PULL)
def check_and_pull(req: CheckAndPullReq) -> dict[str, str]:
    """Start (or join) one background pull per image; returns {image: task id of its pull}."""
    pulls = _shared_pulls()
    return {
        name: pulls.join_or_start(cfg.canonical, functools.partial(_send_pull, cfg=cfg), _finished)
        for name, cfg in req.image_configs.items()
    }


@agent_task(ops.PULL_IMAGE, long=True)
def pull_image(req: PullImageReq) -> bool:
    """Pull one image if it is missing or outdated (events image_pull_*); True when it pulled."""
    h = host()
    task_id = pull_image.request.id
    try:
        puller = Puller(h.docker, h.events, h.settings.id, h.settings.image_pull_timeout, h.metrics.pull_bytes.inc)
        return puller.run(req.config)
    finally:
        if task_id:
            _shared_pulls().release(req.image, task_id)


@agent_task(ops.PUSH_IMAGE, long=True)
def push_image(req: PushImageReq) -> None:
    """Push a local image to its registry (nothing for a local image); RuntimeError on failure."""
    h = host()
    push(h.docker, req.image_ref, req.registry_conf, req.timeout or h.settings.image_push_timeout)


@agent_task(ops.PURGE_IMAGES)
def purge_images(req: PurgeImagesTaskReq) -> PurgeImagesResp:
    """Remove images; one response per image, with Docker's error text when it refused."""
    return purge(host().docker, req.request)


@agent_task(ops.COMMIT, long=True)
def commit(req: CommitReq) -> None:
    """Commit a kernel's container to an image (and export it when a filename is given)."""
    h = host()
    paths = commits.commit_paths(h.settings.commit_dir, req.subdir, req.kernel_id, req.filename)
    record = h.registry.get(req.kernel_id)
    if record.container_id is None:
        raise KernelNotFound(req.kernel_id)
    spec = commits.CommitSpec(req.kernel_id, record.container_id, paths, req.canonical,
                              req.extra_labels, h.settings.image_commit_timeout)
    commits.commit_kernel(h.docker, spec)


@agent_task(ops.GET_COMMIT_STATUS)
def get_commit_status(req: GetCommitStatusReq) -> CommitStatus:
    """ONGOING while the commit lock of this kernel and subdir exists, else READY."""
    h = host()
    h.registry.get(req.kernel_id)
    return commits.commit_status(commits.commit_paths(h.settings.commit_dir, req.subdir, req.kernel_id))
