"""A Docker API call that streams JSON progress messages, bounded by an overall deadline.

docker-py bounds each socket read, not a whole pull or push. Here a timer shuts the connection's
socket down when the deadline passes: the reading thread wakes at once, and the daemon, seeing its
client gone, cancels the pull or push (it does not finish it in the background).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import requests
from docker.utils.json_stream import json_stream


class StreamTimeout(Exception):
    """The call ran past its deadline; the connection was closed, which cancels it in the daemon."""


def _shutdown(response: requests.Response, fired: threading.Event) -> None:
    fired.set()
    conn = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def stream_post(
    api: docker.APIClient,
    path: str,
    *,
    params: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
) -> Iterator[dict[str, Any]]:
    """POST `path` (a format with no arguments, e.g. "/images/create") and yield each JSON message.

    Raises StreamTimeout when `timeout` seconds pass before the stream ends, docker.errors.APIError
    when the daemon refuses the request outright.
    """
    fired = threading.Event()
    deadline = time.monotonic() + timeout
    try:  # the daemon may send no headers until the registry answers: bound that wait too
        response = api.post(api._url(path), params=params, headers=headers, stream=True, timeout=timeout)
    except requests.Timeout:
        raise StreamTimeout(f"no answer within {timeout:g} s") from None
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), _shutdown, args=(response, fired))
    timer.daemon = True
    timer.start()
    try:
        api._raise_for_status(response)
        try:
            yield from json_stream(response.iter_content(chunk_size=None, decode_unicode=True))
        except (requests.RequestException, OSError, ValueError, docker.errors.DockerException):
            if not fired.is_set():
                raise
        if fired.is_set():
            raise StreamTimeout(f"no answer within {timeout:g} s")
    finally:
        timer.cancel()
        response.close()
