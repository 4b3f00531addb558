"""Exporting an image as a gzipped `docker save` tarball, written under a temporary name first."""

from __future__ import annotations

import contextlib
import gzip
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker

CHUNK = 1 << 20
# gzip level 1: about twice as fast as the default 6 for ~10% more bytes (bench/results/images.md).
GZIP_LEVEL = 1
_END = object()


def image_chunks(api: docker.APIClient, image_id: str) -> Iterator[bytes]:
    """The image's `docker save` tarball, in chunks."""
    yield from api.get_image(image_id, chunk_size=CHUNK)


def export_image(api: docker.APIClient, image_id: str, dest: Path) -> int:
    """Write the image as a gzipped tarball at `dest`; returns its size. `dest` appears only when
    complete; on failure nothing is left. Reading from Docker and compressing overlap (a thread)."""
    partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    reader = threading.Thread(target=_read_into, args=(api, image_id, chunks), daemon=True)
    reader.start()
    try:
        with open(partial, "wb") as raw, gzip.GzipFile(dest.name, "wb", GZIP_LEVEL, raw, mtime=0) as gz:
            while (item := chunks.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes)
                gz.write(item)
        os.replace(partial, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        _drain(chunks, reader)
        raise
    return dest.stat().st_size


def _read_into(api: docker.APIClient, image_id: str, chunks: queue.Queue[object]) -> None:
    try:
        for chunk in image_chunks(api, image_id):
            chunks.put(chunk)
        chunks.put(_END)
    except BaseException as e:  # handed to the writer, which raises it
        chunks.put(e)


def _drain(chunks: queue.Queue[object], reader: threading.Thread) -> None:
    """Let a reader blocked on a full queue finish, so no thread outlives the export."""
    while reader.is_alive():
        with contextlib.suppress(queue.Empty):
            chunks.get(timeout=0.1)
