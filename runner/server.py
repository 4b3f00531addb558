"""The runner's Unix-socket server.

Wire protocol: a client connects to the socket, writes one JSON object per line
(`{"op": ..., ...}`) and reads one JSON object per line back (`{"ok": true, ...}` or
`{"ok": false, "error": "...", "kind": "..."}`). Ops: `status` (the handshake), `execute`,
`interrupt`, `cancel`, `complete`, `start-service`, `shutdown-service`. docs/execution.md
describes each.
"""

import contextlib
import json
import os
import signal
import socketserver
import sys
import threading
import time
import uuid

from runner.batch import BatchJob
from runner.models import ModelServices
from runner.query import QueryProcess
from runner.runs import Run
from runner.services import Services

DEFAULT_SOCKET = "/opt/kernel/ipc/runner.sock"
STARTED_AT = time.time()


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

    def __init__(self):
        self.work_dir = work_dir()
        self.query = QueryProcess(self.work_dir, log)
        self.services = Services(self.work_dir)
        self.models = ModelServices(self.work_dir)
        self.run = None
        self.batch = None
        self.timer = None
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
                run = self.run = Run(run_id or uuid.uuid4().hex, mode)
                self._arm_timeout(run, float((req.get("opts") or {}).get("exec_timeout") or 0))
                if mode == "query":
                    self.batch = None
                    self.query.execute(run, req.get("code", ""))
                else:
                    self.batch = BatchJob(run, req.get("opts") or {}, req.get("code", ""), self.work_dir)
                    self.batch.start()
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
        self._disarm_timeout()
        if seconds > 0:
            self.timer = threading.Timer(seconds, self._time_out, (run,))
            self.timer.daemon = True
            self.timer.start()

    def _disarm_timeout(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _time_out(self, run):
        if run.is_running():
            run.mark("exec-timeout", -1)
            self._kill_work()

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
        self.query.kill()
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


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            try:
                reply = dispatch(json.loads(line))
            except Refused as e:
                reply = {"ok": False, "kind": e.kind, "error": str(e)}
            except Exception as e:  # a bad request must not kill the runner
                reply = {"ok": False, "kind": "error", "error": f"{type(e).__name__}: {e}"}
            self.wfile.write((json.dumps(reply) + "\n").encode())
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    global KERNEL
    load_environ()
    KERNEL = Kernel()
    path = os.environ.get("KERNEL_RUNNER_SOCKET", DEFAULT_SOCKET)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = Server(path, Handler)
    os.chmod(path, 0o600)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        KERNEL.shutdown()
        server.server_close()
        with contextlib.suppress(OSError):
            os.unlink(path)
    return 0
