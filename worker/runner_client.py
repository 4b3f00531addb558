"""The agent's side of the runner protocol (see runner/server.py): JSON lines over a Unix socket.

Connections are kept for reuse (a few per kernel, dropped after IDLE_S unused): a new connection
costs about 0.2 ms (connect, and a thread in the runner), the same as a whole `status` request.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from contract.errors import AgentError

IDLE_S = 30.0        # an idle connection older than this is closed instead of reused
PER_KERNEL = 4       # idle connections kept per runner socket
MAX_KERNELS = 256    # runner sockets with idle connections (least recently used dropped)


class RunnerUnavailable(AgentError, RuntimeError):
    """The kernel's runner did not answer."""


class RunnerRefused(AgentError, RuntimeError):
    """The runner understood the request and declined it; `kind` says why (busy, no-run, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Pool:
    """Idle connections by socket path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[str, list[tuple[socket.socket, float]]] = OrderedDict()

    def take(self, path: str) -> socket.socket | None:
        now = time.monotonic()
        with self._lock:
            conns = self._idle.get(path, [])
            while conns:
                sock, since = conns.pop()
                if now - since < IDLE_S:
                    return sock
                sock.close()
        return None

    def give(self, path: str, sock: socket.socket) -> None:
        closing = []
        with self._lock:
            conns = self._idle.setdefault(path, [])
            self._idle.move_to_end(path)
            if len(conns) < PER_KERNEL:
                conns.append((sock, time.monotonic()))
            else:
                closing.append(sock)
            while len(self._idle) > MAX_KERNELS:
                closing += [old for old, _ in self._idle.popitem(last=False)[1]]
        for c in closing:
            c.close()

    def drop(self, path: str) -> None:
        with self._lock:
            for sock, _ in self._idle.pop(path, []):
                sock.close()


_pool = _Pool()


class RunnerClient:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    def request(self, op: str, timeout: float = 10.0, **payload: Any) -> dict[str, Any]:
        """Send one request and return the runner's reply (`ok` is true)."""
        path = str(self.socket_path)
        line = (json.dumps({"op": op, **payload}) + "\n").encode()
        sock = _pool.take(path)
        if sock is not None:
            try:
                sock.settimeout(timeout)
                sock.sendall(line)
            except OSError:  # the runner closed it (restarted, or the kernel is gone): start afresh
                sock.close()
                _pool.drop(path)
                sock = None
        try:
            if sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(path)
                sock.sendall(line)
            data = self._read_line(sock)
        except OSError as e:
            if sock is not None:
                sock.close()
            raise RunnerUnavailable(f"runner at {path} did not answer {op!r}: {e}") from None
        if not data.endswith(b"\n"):
            sock.close()
            raise RunnerUnavailable(f"runner at {path} closed the connection on {op!r}")
        _pool.give(path, sock)
        reply: dict[str, Any] = json.loads(data)
        if not reply.get("ok"):
            kind = str(reply.get("kind", "error"))
            raise RunnerRefused(kind, f"runner refused {op!r}: {reply.get('error')}")
        return reply

    @staticmethod
    def _read_line(sock: socket.socket) -> bytes:
        chunks: list[bytes] = []
        while True:
            chunk = sock.recv(1 << 18)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
        return b"".join(chunks)
