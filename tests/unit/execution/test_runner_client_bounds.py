"""Whatever listens on a kernel's socket, a runner request ends in time and in bounds: a reply
that drips, one that never ends, a link where the socket should be, a process that is not the
kernel's runner: each is a RuntimeError (RunnerUnavailable), never a stuck or swollen thread."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worker.runner_client import MAX_REPLY_BYTES, RunnerClient, RunnerConnections, RunnerUnavailable


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rc-") as d:  # short: socket paths have at most 107 bytes
        yield Path(d)


def serve(path: Path, answer: Callable[[socket.socket], None]) -> threading.Event:
    """A server at `path` that runs `answer` on its one connection; the event stops it."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    stop = threading.Event()

    def run() -> None:
        conn, _ = server.accept()
        with conn, server:
            conn.recv(1024)
            with contextlib.suppress(OSError):
                answer(conn)
            stop.wait(10)

    threading.Thread(target=run, daemon=True).start()
    return stop


def test_a_reply_that_drips_without_end_is_cut_off_at_the_deadline(sock_dir: Path) -> None:
    def drip(conn: socket.socket) -> None:
        for _ in range(200):
            conn.sendall(b"x")
            time.sleep(0.05)

    stop = serve(sock_dir / "runner.sock", drip)
    started = time.monotonic()
    with pytest.raises(RunnerUnavailable, match=r"did not answer .status.: (timed out|no whole reply in time)"):
        RunnerClient(sock_dir / "runner.sock", RunnerConnections()).request("status", timeout=1.0)
    assert time.monotonic() - started < 1.5
    stop.set()


def test_a_reply_over_the_size_cap_is_refused(sock_dir: Path) -> None:
    def flood(conn: socket.socket) -> None:
        chunk = b"y" * (1 << 20)
        for _ in range(MAX_REPLY_BYTES // len(chunk) + 2):
            conn.sendall(chunk)

    stop = serve(sock_dir / "runner.sock", flood)
    with pytest.raises(RunnerUnavailable, match="over"):
        RunnerClient(sock_dir / "runner.sock", RunnerConnections()).request("status", timeout=10)
    stop.set()


def test_a_link_in_place_of_the_socket_is_never_followed(sock_dir: Path) -> None:
    real = sock_dir / "elsewhere.sock"
    stop = serve(real, lambda conn: conn.sendall(b'{"ok": true}\n'))
    (sock_dir / "runner.sock").symlink_to(real)
    with pytest.raises(RunnerUnavailable, match="not a socket"):
        RunnerClient(sock_dir / "runner.sock", RunnerConnections()).request("status", timeout=2)
    stop.set()


def test_a_listener_that_is_not_the_kernels_runner_is_refused(sock_dir: Path) -> None:
    stop = serve(sock_dir / "runner.sock", lambda conn: conn.sendall(b'{"ok": true}\n'))
    impostor_of = os.getpid() + 1_000_000  # the pid the handshake found is not this process's
    with pytest.raises(RunnerUnavailable, match="is not the kernel's runner"):
        RunnerClient(sock_dir / "runner.sock", RunnerConnections(), runner_pid=impostor_of).request("status")
    stop.set()


def test_a_reply_that_is_not_a_json_object_is_refused(sock_dir: Path) -> None:
    stop = serve(sock_dir / "runner.sock", lambda conn: conn.sendall(b"[1, 2]\n"))
    with pytest.raises(RunnerUnavailable, match="not an object"):
        RunnerClient(sock_dir / "runner.sock", RunnerConnections()).request("status", timeout=2)
    stop.set()


def test_connections_of_a_kernel_are_closed_when_it_ends(sock_dir: Path) -> None:
    conns = RunnerConnections()
    stop = serve(sock_dir / "runner.sock", lambda conn: conn.sendall(b'{"ok": true}\n'))
    RunnerClient(sock_dir / "runner.sock", conns).request("status", timeout=2)
    assert conns.open_count() == 1
    conns.close(sock_dir / "runner.sock")
    assert conns.open_count() == 0
    stop.set()
