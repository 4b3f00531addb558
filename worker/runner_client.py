"""The agent's side of the runner protocol (see runner/server.py): JSON lines over a Unix socket.

Everything from a kernel is hostile: every request has one overall deadline (connect, send and the
whole reply, however slowly it drips) and a reply size cap, both ending in RunnerUnavailable (a
RuntimeError). The socket must be a socket (never a link), and a connection's peer must be the
runner process the kernel's handshake found (SO_PEERCRED), so user code that got its own server
there is never talked to. After the handshake the kernel's ipc dir belongs to root, so the kernel's
user cannot replace the socket at all (worker/stages/verification.py).

Connections are kept for reuse (a few per kernel, dropped after IDLE_S unused, all of a kernel's
closed when it ends): a new connection costs about 0.2 ms (connect, and a thread in the runner),
the same as a whole `status` request.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.errors import AgentError

IDLE_S = 30.0  # an idle connection older than this is closed instead of reused
PER_KERNEL = 4  # idle connections kept per runner socket
MAX_KERNELS = 1024  # runner sockets with idle connections (least recently used dropped)
MAX_REPLY_BYTES = 16 << 20  # a reply carries at most 1 MiB of output; JSON escapes can grow it
READ_CHUNK = 1 << 18


class RunnerUnavailable(AgentError, RuntimeError):
    """The kernel's runner did not answer (in time, in bounds, or at all)."""


class RunnerRefused(AgentError, RuntimeError):
    """The runner understood the request and declined it; `kind` says why (busy, no-run, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def peer_pid(sock: socket.socket) -> int:
    """The pid (in this process's pid namespace; 0 if not visible there) of the peer's process."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[0])


class RunnerConnections:
    """Idle connections by socket path, for every kernel of one agent."""

    def __init__(self, on_connect: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[str, list[tuple[socket.socket, float]]] = OrderedDict()
        self._on_connect = on_connect

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

    def close(self, path: Path | str) -> None:
        """Close every idle connection to this socket (its kernel ended or restarts)."""
        with self._lock:
            conns = self._idle.pop(str(path), [])
        for sock, _ in conns:
            sock.close()

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, OrderedDict()
        for conns in idle.values():
            for sock, _ in conns:
                sock.close()

    def idle_to(self, path: Path | str) -> int:
        """How many idle connections to this socket are kept."""
        with self._lock:
            return len(self._idle.get(str(path), []))

    def open_count(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._idle.values())

    def connect(self, path: str, deadline: float, expected_pid: int | None) -> socket.socket:
        """A new connection to the runner at `path`, checked to be the runner we mean."""
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise RunnerUnavailable(f"runner at {path} is not listening (no socket)") from None
        if not stat.S_ISSOCK(mode):
            raise RunnerUnavailable(f"runner at {path} is not a socket: refused")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.connect(path)
            if expected_pid is not None and (pid := peer_pid(sock)) != expected_pid:
                raise RunnerUnavailable(f"the process listening at {path} (pid {pid}) is not the kernel's runner "
                                        f"(pid {expected_pid}): refused")
        except OSError as e:
            sock.close()
            raise RunnerUnavailable(f"runner at {path} is not listening: {e.strerror or e}") from None
        except BaseException:
            sock.close()
            raise
        self._on_connect()
        return sock


DEFAULT_CONNECTIONS = RunnerConnections()


class RunnerClient:
    """Requests to one kernel's runner. `runner_pid` (from the kernel's handshake) is checked on every
    new connection when given."""

    def __init__(self, socket_path: Path, connections: RunnerConnections = DEFAULT_CONNECTIONS,
                 runner_pid: int | None = None) -> None:
        self.socket_path = socket_path
        self._conns = connections
        self._runner_pid = runner_pid

    def request(self, op: str, timeout: float = 10.0, **payload: Any) -> dict[str, Any]:
        """Send one request and return the runner's reply (`ok` is true), all within `timeout`."""
        path = str(self.socket_path)
        deadline = time.monotonic() + timeout
        line = (json.dumps({"op": op, **payload}) + "\n").encode()
        sock = self._conns.take(path)
        if sock is not None:
            try:
                sock.settimeout(timeout)
                sock.sendall(line)
            except OSError:  # the runner closed it (restarted, or the kernel is gone): start afresh
                sock.close()
                self._conns.close(path)
                sock = None
        try:
            if sock is None:
                sock = self._conns.connect(path, deadline, self._runner_pid)
                sock.sendall(line)
            data = _read_line(sock, deadline)
        except OSError as e:
            if sock is not None:
                sock.close()
            raise RunnerUnavailable(f"runner at {path} did not answer {op!r}: {e}") from None
        except RunnerUnavailable as e:
            if sock is not None:
                sock.close()
            raise RunnerUnavailable(f"runner at {path} did not answer {op!r}: {e}") from None
        self._conns.give(path, sock)
        try:
            reply: dict[str, Any] = json.loads(data)
        except ValueError:
            raise RunnerUnavailable(f"runner at {path} answered {op!r} with something that is not JSON") from None
        if not isinstance(reply, dict):
            raise RunnerUnavailable(f"runner at {path} answered {op!r} with something that is not an object")
        if not reply.get("ok"):
            kind = str(reply.get("kind", "error"))
            raise RunnerRefused(kind, f"runner refused {op!r}: {str(reply.get('error'))[:1000]}")
        return reply


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    """One reply line, read before `deadline` and no longer than MAX_REPLY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RunnerUnavailable(f"no whole reply in time ({size} bytes so far)")
        sock.settimeout(remaining)
        chunk = sock.recv(READ_CHUNK)
        if not chunk:
            raise RunnerUnavailable("the runner closed the connection")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise RunnerUnavailable(f"the reply is over {MAX_REPLY_BYTES} bytes")
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


def handshake(connections: RunnerConnections, socket_path: Path, timeout: float) -> int:
    """One `status` request on a new connection; the runner's pid as this process sees it."""
    path = str(socket_path)
    deadline = time.monotonic() + timeout
    sock = connections.connect(path, deadline, None)
    try:
        sock.sendall(b'{"op": "status"}\n')
        reply = json.loads(_read_line(sock, deadline))
        pid = peer_pid(sock)
    except (OSError, ValueError, RunnerUnavailable) as e:
        sock.close()
        raise RunnerUnavailable(f"runner at {path} did not answer its handshake: {e}") from None
    if not (isinstance(reply, dict) and reply.get("ok")):
        sock.close()
        raise RunnerUnavailable(f"runner at {path} refused its handshake")
    connections.give(path, sock)
    return pid
