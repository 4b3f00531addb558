"""Pulling an image for check_and_pull: whether to pull, the pull with its progress, the events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from contract import events as ev
from contract.errors import ImageNotAvailable, ImagePullFailed
from contract.image_reference import parse_reference
from contract.images import ImageConfig
from worker.events import EventProducer
from worker.images.docker_stream import StreamTimeout, stream_post
from worker.images.registry_auth import auth_headers

log = logging.getLogger(__name__)

ALREADY_EXISTS = "Image already exists"
# Docker's per-layer statuses; a layer is done at the last two.
_LAYER_STATUSES = frozenset({
    "Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete",
    "Extracting", "Pull complete", "Already exists",
})
_DONE_STATUSES = frozenset({"Pull complete", "Already exists"})


@dataclass
class Layer:
    current: int = 0
    total: int = 0
    done: bool = False


@dataclass
class PullProgress:
    """Bytes and layers of one pull, fed with Docker's progress messages."""

    layers: dict[str, Layer] = field(default_factory=dict)

    def feed(self, msg: dict[str, Any]) -> None:
        status, layer_id = msg.get("status"), msg.get("id")
        if status not in _LAYER_STATUSES or not layer_id:
            return
        layer = self.layers.setdefault(layer_id, Layer())
        detail = msg.get("progressDetail") or {}
        if status == "Downloading":
            layer.current = int(detail.get("current", layer.current))
            layer.total = int(detail.get("total", layer.total))
        elif status in ("Download complete", "Extracting") or status in _DONE_STATUSES:
            layer.current = layer.total = max(layer.current, layer.total)
        layer.done = layer.done or status in _DONE_STATUSES

    def snapshot(self) -> dict[str, int]:
        ls = self.layers.values()
        return {
            "current_bytes": sum(x.current for x in ls), "total_bytes": sum(x.total for x in ls),
            "layers_done": sum(x.done for x in ls), "layers_total": len(self.layers),
        }


def pull_reason(client: docker.DockerClient, cfg: ImageConfig) -> str | None:
    """Why `cfg`'s image must be pulled, or None when the local image will do.

    auto_pull "digest": pull when the image is missing or its id differs from `cfg.digest`;
    "tag": pull only when missing; "none": never pull (a missing image is ImageNotAvailable).
    Local images (`is_local`) are never pulled.
    """
    try:
        image = client.images.get(cfg.canonical)
    except ImageNotFound:
        if cfg.is_local or cfg.auto_pull == "none":
            why = "a local image" if cfg.is_local else "auto_pull is 'none'"
            raise ImageNotAvailable(f"image {cfg.canonical} is not on this host and {why}") from None
        return "missing on this host"
    if cfg.is_local or cfg.auto_pull != "digest":
        return None
    if cfg.digest and image.id != cfg.digest:
        return f"local image {image.id} differs from digest {cfg.digest}"
    repo_digests = [d.partition("@")[2] for d in image.attrs.get("RepoDigests") or []]
    if not cfg.digest and cfg.repo_digest and cfg.repo_digest not in repo_digests:
        return f"local image has none of repo digest {cfg.repo_digest}"
    return None


@dataclass
class Puller:
    """Runs one image's pull and reports it as events (at most one progress event per interval)."""

    client: docker.DockerClient
    events: EventProducer
    agent_id: str
    timeout: float
    on_bytes: Callable[[float], None] = lambda n: None  # bytes downloaded (for the agent's metrics)
    progress_interval: float = 0.5

    def run(self, cfg: ImageConfig) -> bool:
        """Pull `cfg`'s image when needed; True when it pulled. ImagePullFailed/ImageNotAvailable
        (after an image_pull_failed event) when the pull was impossible, failed or timed out."""
        try:
            reason = pull_reason(self.client, cfg)
        except ImageNotAvailable as e:
            self._emit(ev.ImagePullFailed, cfg, msg=str(e))
            raise
        if reason is None:
            self._emit(ev.ImagePullFinished, cfg, msg=ALREADY_EXISTS)
            return False
        log.info("pulling %s: %s", cfg.canonical, reason)
        self._emit(ev.ImagePullStarted, cfg)
        try:
            self._pull(cfg)
        except StreamTimeout:
            msg = f"timeout (s:{self.timeout:g})"
            self._emit(ev.ImagePullFailed, cfg, msg=msg)
            raise ImagePullFailed(f"pulling {cfg.canonical} failed: {msg}") from None
        except (ImagePullFailed, DockerException, OSError) as e:
            msg = _explain(e)
            self._emit(ev.ImagePullFailed, cfg, msg=msg)
            raise ImagePullFailed(f"pulling {cfg.canonical} failed: {msg}") from None
        self._emit(ev.ImagePullFinished, cfg)
        return True

    def _pull(self, cfg: ImageConfig) -> None:
        ref = parse_reference(cfg.canonical)
        progress = PullProgress()
        last_sent = time.monotonic()
        stream = stream_post(
            self.client.api, "/images/create",
            params={"fromImage": ref.repository, "tag": ref.pull_tag},
            headers=auth_headers(cfg.registry, ref.registry), timeout=self.timeout,
        )
        for msg in stream:
            if "error" in msg:
                raise ImagePullFailed(str(msg["error"]))
            progress.feed(msg)
            now = time.monotonic()
            if progress.layers and now - last_sent >= self.progress_interval:
                self._emit(ev.ImagePullProgress, cfg, **progress.snapshot())
                last_sent = now
        if progress.layers:
            final = progress.snapshot()
            self._emit(ev.ImagePullProgress, cfg, **final)
            self.on_bytes(final["current_bytes"])

    def _emit(self, kind: type[ev.ImageEvent], cfg: ImageConfig, **fields: Any) -> None:
        self.events.produce(kind(image=cfg.canonical, agent_id=self.agent_id, **fields))


def _explain(e: BaseException) -> str:
    if isinstance(e, APIError):
        return str(e.explanation or e)
    return str(e)
