"""The agent's side of the runner protocol (see runner/server.py): JSON lines over a Unix socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from worker.errors import AgentError


class RunnerUnavailable(AgentError, RuntimeError):
    """The kernel's runner did not answer."""


class RunnerRefused(AgentError, RuntimeError):
    """The runner understood the request and declined it; `kind` says why (busy, no-run, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RunnerClient:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    def request(self, op: str, timeout: float = 10.0, **payload: Any) -> dict[str, Any]:
        """Send one request and return the runner's reply (`ok` is true)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(str(self.socket_path))
                s.sendall((json.dumps({"op": op, **payload}) + "\n").encode())
                chunks: list[bytes] = []
                while True:
                    chunk = s.recv(1 << 18)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if chunk.endswith(b"\n"):
                        break
        except OSError as e:
            raise RunnerUnavailable(f"runner at {self.socket_path} did not answer {op!r}: {e}") from None
        data = b"".join(chunks)
        if not data.endswith(b"\n"):
            raise RunnerUnavailable(f"runner at {self.socket_path} closed the connection on {op!r}")
        reply: dict[str, Any] = json.loads(data)
        if not reply.get("ok"):
            kind = str(reply.get("kind", "error"))
            raise RunnerRefused(kind, f"runner refused {op!r}: {reply.get('error')}")
        return reply
