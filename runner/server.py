"""The runner's Unix-socket server.

Wire protocol: a client connects to the socket, writes one JSON object per line
(`{"op": ..., ...}`) and reads one JSON object per line back (`{"ok": true, ...}` or
`{"ok": false, "error": "...", "kind": "..."}`). Ops: `status` (the handshake), `execute`,
`interrupt`, `cancel`, `complete`, `start-service`, `shutdown-service`. docs/execution.md
describes each.

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
import uuid

from runner.batch import BatchJob
from runner.limits import Limits, in_own_container, kill_all_others, lock_code_in_memory, start_thread
from runner.models import ModelServices
from runner.query import QueryProcess
from runner.runs import Run
from runner.services import Services

DEFAULT_SOCKET = "/opt/kernel/ipc/runner.sock"
STARTED_AT = time.time()
TICK = 0.2            # seconds between the guard thread's checks (limits, exec-timeout)
MIN_WORKERS = 4       # worker threads started in advance and always kept
MAX_WORKERS = 64      # more requests than this at once wait for a free worker
WORKER_IDLE_S = 30.0  # an extra worker idle this long exits
MAX_REQUEST = 64 << 20  # bytes of one request line; a longer one closes the connection
OOM_STORM = 3         # OOM kills within OOM_STORM_S seconds that mean memory stays exhausted
OOM_STORM_S = 2.0
INLINE = ("status", "interrupt", "cancel")  # quick ops the main thread answers itself


class Refused(Exception):
    """A request the runner understood and declines; `kind` lets the agent tell them apart."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


def log(message):
    sys.stderr.write(f"runner: {message}\n")
    sys.stderr.flush()


def load_environ(path="/home/config/environ.txt"):
    """Export KEY=VALUE lines the agent wrote for this kernel."""
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep and key:
                    os.environ[key] = value
    except OSError:
        pass


def work_dir():
    path = os.environ.get("KERNEL_WORK_DIR", "/home/work")
    return path if os.path.isdir(path) else os.getcwd()


class Kernel:
    """What runs in this kernel: the current run, the query interpreter, a batch job, services."""

    def __init__(self, limits=None):
        self.work_dir = work_dir()
        self.limits = limits           # the container's limits; None when not watched (not contained)
        self.limits_lock = threading.Lock()
        self.oom_kills = 0             # OOM kills not yet told to a run
        self.recent_ooms = collections.deque()  # (time.monotonic(), OOM kills) within OOM_STORM_S
        self.pending_notes = []        # notes for the next run: limits hit while no run was going
        self.query = QueryProcess(self.work_dir, log, before_end=self.check_limits)
        self.services = Services(self.work_dir)
        self.models = ModelServices(self.work_dir)
        self.run = None
        self.batch = None
        self.deadline = None           # (time.monotonic() deadline, run) of the exec_timeout
        self.lock = threading.Lock()

    def execute(self, req):
        mode = req.get("mode")
        run_id = req.get("run_id")
        flush_timeout = float(req.get("flush_timeout", 2.0))
        with self.lock:
            run = self.run
            if mode in ("query", "batch"):
                if run is not None and run.is_running():
                    raise Refused("busy", f"run {run.run_id} is still in progress: "
                                          "continue, interrupt or cancel it")
                self.check_limits()  # a limit hit since the last run: acted on and told to this one
                run = self.run = Run(run_id or uuid.uuid4().hex, mode)
                with self.limits_lock:
                    for note in self.pending_notes:
                        run.note(note)
                    self.pending_notes.clear()
                self._arm_timeout(run, float((req.get("opts") or {}).get("exec_timeout") or 0))
                try:
                    if mode == "query":
                        self.batch = None
                        self.query.execute(run, req.get("code", ""))
                    else:
                        self.batch = BatchJob(run, req.get("opts") or {}, req.get("code", ""), self.work_dir,
                                              before_end=self.check_limits)
                        self.batch.start()
                except (OSError, RuntimeError) as e:  # no pid left for a process or a thread
                    log(f"cannot start run {run.run_id}: {e}")
                    run.note(f"[runner: cannot start the run: {type(e).__name__}: {e}]\n")
                    run.mark("finished", 1)
            elif mode in ("continue", "input"):
                if run is None or run.delivered or (run_id and run.run_id != run_id):
                    raise Refused("no-run", f"no run {run_id or ''} in progress")
                if mode == "input":
                    if run.kind != "query" or not self.query.waiting_input:
                        raise Refused("not-waiting", f"run {run.run_id} is not waiting for input")
                    run.discard_marker("waiting-input")
                    self.query.feed_input(req.get("code", ""))
            else:
                raise Refused("bad-request", f"unknown mode {mode!r}")
        result = run.collect(flush_timeout)
        if run.delivered:
            with self.lock:
                if self.run is run:
                    self.run = None
                    self._disarm_timeout()
        return result

    def _arm_timeout(self, run, seconds):
        self.deadline = (time.monotonic() + seconds, run) if seconds > 0 else None

    def _disarm_timeout(self):
        self.deadline = None

    def guard(self):
        """The guard thread: every TICK, the exec-timeout and the container's limits. A thread of
        its own that makes no system call the kernel could charge to the container's memory:
        while user code exhausts it, the others wait in the OOM killer's queue (even accept(2)
        does, for the socket's inode), this one goes on and ends it."""
        while True:
            time.sleep(TICK)
            try:
                self.tick()
            except Exception as e:  # the guard must go on
                log(f"guard: {type(e).__name__}: {e}")

    def tick(self):
        deadline = self.deadline
        if deadline is not None and time.monotonic() >= deadline[0]:
            self.deadline = None
            self._time_out(deadline[1])
        self.check_limits(final=False)

    def _time_out(self, run):
        if run.is_running():
            run.mark("exec-timeout", -1)
            self._kill_work()

    def check_limits(self, final=True):
        """Act on the container's limits hit since the last check. The pids limit reached, or the
        OOM killer killing again and again (OOM_STORM kills within OOM_STORM_S seconds: a fork
        bomb, which it cannot stop), means they stay exhausted: kill every process of the user, at
        once. Single OOM kills (the kernel took a user process, and that freed memory) are told when
        a run ends (`final`) or starts. Notes go to the current run, else to the next one.
        True when the current run's processes were killed."""
        if self.limits is None:
            return False
        with self.limits_lock:
            refused, oom = self.limits.poll()
            now = time.monotonic()
            if oom:
                self.oom_kills += oom
                self.recent_ooms.append((now, oom))
            while self.recent_ooms and self.recent_ooms[0][0] < now - OOM_STORM_S:
                self.recent_ooms.popleft()
            storm = sum(n for _, n in self.recent_ooms) >= OOM_STORM
            run = self.run
            if refused or storm:  # first the kill: while memory is exhausted, anything else may wait
                if run is not None and run.is_running():
                    run.killed = True
                self._kill_user_processes()
                self.oom_kills += self.limits.poll()[1]  # kills counted while this thread waited
                self.recent_ooms.clear()
                log(f"{'pids' if refused else 'memory'} limit exhausted: killed every process of the user")
            notes = []
            if self.oom_kills and (final or refused or storm):
                n = self.oom_kills
                notes.append(f"the kernel ran out of memory ({self.limits.describe_memory()}): "
                             f"the OOM killer killed {n} process{'es' if n > 1 else ''}")
                self.oom_kills = 0
            if refused or storm:
                why = (f"the kernel reached {self.limits.describe_pids()}" if refused
                       else "the kernel kept running out of memory")
                notes.append(f"{why}: the runner killed every process of the user (services too); "
                             "the interpreter's state is lost")
            if notes:
                text = "".join(f"[runner: {note}]\n" for note in notes)
                if run is None or not run.note(text):
                    self.pending_notes.append(text)
            return run is not None and run.killed

    def _kill_user_processes(self):
        kill_all_others()
        self.query.kill()  # reap it: a new run must never meet the dying interpreter
        self.services.reap()
        self.models.reap()

    def _kill_work(self):
        if self.batch is not None:
            self.batch.kill()
        else:
            self.query.kill()

    def interrupt(self):
        run = self.run
        if run is not None and run.kind == "batch" and self.batch is not None:
            self.batch.interrupt()
        else:
            self.query.interrupt()

    def cancel(self):
        """End the current run at once: kill what it runs and forget its output."""
        with self.lock:
            run, self.run = self.run, None
            self._disarm_timeout()
        if run is not None and run.is_running():
            run.mark("finished", -1)
            run.abandon()
            self._kill_work()
        return run is not None

    def shutdown(self):
        self._disarm_timeout()
        if self.batch is not None:
            self.batch.kill()
        self.query.shutdown()
        self.services.shutdown_all()
        self.models.stop_all()


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
