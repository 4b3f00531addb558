"""The runner's Unix-socket server.

Wire protocol: a client connects to the socket, writes one JSON object per line
(`{"op": ..., ...}`) and reads one JSON object per line back (`{"ok": true, ...}` or
`{"ok": false, "error": "...", "kind": "..."}`). Ops: `status` (the handshake), `execute`,
`interrupt`, `cancel`, `complete`, `start-service`, `shutdown-service` (docs/execution.md),
`start-model-service`, `check-model-service`, `stop-model-service` (runner/models.py). What they
act on is the Kernel (runner/kernel.py).

One thread (the main one) accepts connections, reads requests and answers `status`, `interrupt`
and `cancel` itself; the other requests go to a pool of worker threads started in advance. So the
runner answers without starting a thread or a process, also while user code holds every pid the
container may have. A guard thread runs the exec-timeout and watches the container's limits
(runner/limits.py).
"""

import collections
import contextlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time

from runner.kernel import Kernel, Refused, load_environ, log
from runner.limits import Limits, in_own_container, lock_code_in_memory, start_thread

DEFAULT_SOCKET = "/opt/kernel/ipc/runner.sock"
STARTED_AT = time.time()
MIN_WORKERS = 4       # worker threads started in advance and always kept
MAX_WORKERS = 64      # more requests than this at once wait for a free worker
WORKER_IDLE_S = 30.0  # an extra worker idle this long exits
MAX_REQUEST = 64 << 20  # bytes of one request line; a longer one closes the connection
INLINE = ("status", "interrupt", "cancel")  # quick ops the main thread answers itself


KERNEL = None


def dispatch(request):
    op = request.get("op")
    if op == "status":
        return {"ok": True, "started_at": STARTED_AT, "pid": os.getpid(),
                "python": ".".join(map(str, sys.version_info[:3]))}
    if op == "execute":
        return dict(KERNEL.execute(request), ok=True)
    if op == "interrupt":
        KERNEL.interrupt()
        return {"ok": True}
    if op == "cancel":
        return {"ok": True, "cancelled": KERNEL.cancel()}
    if op == "complete":
        suggestions = KERNEL.query.complete(request.get("text", ""))
        return {"ok": True, "status": "finished", "suggestions": suggestions}
    if op == "start-service":
        reply = KERNEL.services.start(request["name"], [int(p) for p in request.get("ports", [])],
                                      request.get("opts") or {})
        return dict(reply, ok=True)
    if op == "start-model-service":
        return dict(KERNEL.models.start(request), ok=True)
    if op == "check-model-service":
        return dict(KERNEL.models.check(request), ok=True)
    if op == "stop-model-service":
        return {"ok": True, "status": KERNEL.models.stop(request["name"])}
    if op == "shutdown-service":
        try:
            return {"ok": True, "status": KERNEL.services.shutdown(request["name"])}
        except LookupError as e:
            raise Refused("no-service", str(e)) from None
    raise Refused("bad-request", f"unknown op {op!r}")


def answer(request):
    """The reply line to one request line."""
    try:
        reply = dispatch(request)
    except Refused as e:
        reply = {"ok": False, "kind": e.kind, "error": str(e)}
    except Exception as e:  # a bad request must not kill the runner
        reply = {"ok": False, "kind": "error", "error": f"{type(e).__name__}: {e}"}
    return (json.dumps(reply) + "\n").encode()


class Connection:
    __slots__ = ("buf", "sock")

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()


class Server:
    """The socket, its connections and the workers (see the module's docstring)."""

    def __init__(self, path, kernel):
        self.kernel = kernel
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound and listening under a temporary name, then renamed: a client that sees the path
        # can connect at once, and never finds it open to others than its owner.
        temporary = f"{path}.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        self.listener.bind(temporary)
        os.chmod(temporary, 0o600)
        self.listener.listen(64)
        os.rename(temporary, path)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.cond = threading.Condition()
        self.jobs = collections.deque()      # (connection, request) for the workers
        self.answered = collections.deque()  # connections to watch again once their reply is sent
        self.workers = 0
        self.idle = 0
        self.stopping = False
        for _ in range(MIN_WORKERS):
            start_thread(self._work)
            self.workers += 1

    def wake(self):
        with contextlib.suppress(BlockingIOError):  # full: the main thread wakes anyway
            os.write(self.wake_w, b"x")

    def stop(self):
        """Make serve_forever return (safe in a signal handler)."""
        self.stopping = True
        self.wake()

    def serve_forever(self):
        while not self.stopping:
            for key, _ in self.selector.select():
                if key.data is None:
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                else:
                    self._read(key.data)
            while self.answered:
                self._watch(self.answered.popleft())

    def close(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        for key in list(self.selector.get_map().values()):
            if isinstance(key.data, Connection):
                key.data.sock.close()
        self.selector.close()
        self.listener.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and the like: the client sees its connection refused
                log(f"accept failed: {e}")
                return
            sock.setblocking(True)  # replies are written with sendall, by whoever answers
            self.selector.register(sock, selectors.EVENT_READ, Connection(sock))

    def _read(self, conn):
        try:
            data = conn.sock.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        conn.buf += data
        if len(conn.buf) > MAX_REQUEST:
            log(f"request over {MAX_REQUEST} bytes: connection closed")
            self._close(conn)
            return
        if b"\n" in data:
            self.selector.unregister(conn.sock)
            self._next_request(conn)

    def _watch(self, conn):
        """A reply was sent: take the connection's next request, or wait for it."""
        if conn.sock.fileno() < 0:
            return
        if b"\n" in conn.buf:
            self._next_request(conn)
        else:
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _next_request(self, conn):
        """Handle the connection's buffered requests, one at a time: quick ops here, the others
        on a worker (which hands the connection back once it has replied)."""
        while b"\n" in conn.buf:
            line, _, rest = bytes(conn.buf).partition(b"\n")
            conn.buf = bytearray(rest)
            try:
                request = json.loads(line)
            except ValueError as e:
                reply = {"ok": False, "kind": "error", "error": f"{type(e).__name__}: {e}"}
                if not self._send(conn, (json.dumps(reply) + "\n").encode()):
                    return
                continue
            if isinstance(request, dict) and request.get("op") not in (*INLINE, None):
                self._submit(conn, request)
                return
            if not self._send(conn, answer(request)):
                return
        self.selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _send(self, conn, reply):
        try:
            conn.sock.sendall(reply)
            return True
        except OSError:
            conn.sock.close()
            return False

    def _close(self, conn):
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        conn.sock.close()

    def _submit(self, conn, request):
        with self.cond:
            self.jobs.append((conn, request))
            if len(self.jobs) > self.idle and self.workers < MAX_WORKERS:
                try:
                    start_thread(self._work, retry_for=0)
                    self.workers += 1
                except RuntimeError:  # no pid for a thread: the request waits for a free worker
                    pass
            self.cond.notify()

    def _work(self):
        while True:
            with self.cond:
                self.idle += 1
                while not self.jobs and not self.stopping:
                    if not self.cond.wait(WORKER_IDLE_S) and not self.jobs and self.workers > MIN_WORKERS:
                        self.idle -= 1
                        self.workers -= 1
                        return
                self.idle -= 1
                if self.stopping:
                    return
                conn, request = self.jobs.popleft()
            if self._send(conn, answer(request)):
                self.answered.append(conn)
                self.wake()


def main():
    global KERNEL
    load_environ()
    limits = Limits() if in_own_container() else None
    KERNEL = Kernel(limits if limits is not None and limits.readable() else None)
    if KERNEL.limits is None:
        log("not watching memory and pids limits: not the main process of a container")
    else:
        log(f"watching memory and pids limits; {lock_code_in_memory() >> 10} KiB of code locked in memory")
    path = os.environ.get("KERNEL_RUNNER_SOCKET", DEFAULT_SOCKET)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = Server(path, KERNEL)
    start_thread(KERNEL.guard)

    def stop(signum, frame):
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        KERNEL.shutdown()
        server.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
    return 0
