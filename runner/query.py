"""The runner's side of the query-mode interpreter (runner/child.py).

The child holds the user's namespace; the runner starts it on first use, forwards its frames and
its raw stdout/stderr (output of subprocesses) into the current run, and starts a fresh one if it
dies (the namespace is lost then, and the run ends with the child's exit status).
"""

import itertools
import json
import os
import signal
import struct
import subprocess
import sys
import threading

from runner.pipes import pump_text

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


class QueryProcess:
    def __init__(self, work_dir, log):
        self.work_dir = work_dir
        self.log = log
        self.proc = None
        self.ctl = None
        self.run = None             # the Run receiving output
        self.waiting_input = False
        self.lock = threading.Lock()
        self.completions = {}       # request id -> [threading.Event, suggestions]
        self.ids = itertools.count(1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ensure_started(self):
        with self.lock:
            if self.alive():
                return
            ctl_r, ctl_w = os.pipe()
            evt_r, evt_w = os.pipe()
            env = dict(os.environ)
            env.pop("KERNEL_RUNNER_SOCKET", None)
            env["KERNEL_WORK_DIR"] = self.work_dir
            self.proc = subprocess.Popen(
                [sys.executable, CHILD, str(ctl_r), str(evt_w)], pass_fds=(ctl_r, evt_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=self.work_dir, env=env)
            os.close(ctl_r)
            os.close(evt_w)
            self.ctl = os.fdopen(ctl_w, "wb", buffering=0)
            proc = self.proc
            threading.Thread(target=self._read_frames, args=(proc, evt_r), daemon=True).start()
            threading.Thread(target=self._read_raw, args=(proc.stdout, "stdout"), daemon=True).start()
            threading.Thread(target=self._read_raw, args=(proc.stderr, "stderr"), daemon=True).start()

    def _send(self, **cmd):
        self.ctl.write((json.dumps(cmd) + "\n").encode())

    def execute(self, run, code):
        self.ensure_started()
        self.run = run
        self.waiting_input = False
        self._send(op="exec", code=code)

    def feed_input(self, text):
        self.waiting_input = False
        self._send(op="input", text=text)

    def interrupt(self):
        if self.alive():
            if self.run is not None:
                self.run.drop_overflow = True
            os.kill(self.proc.pid, signal.SIGINT)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def complete(self, text, timeout=5.0):
        self.ensure_started()
        ident = next(self.ids)
        slot = [threading.Event(), []]
        self.completions[ident] = slot
        try:
            self._send(op="complete", id=ident, text=text)
            slot[0].wait(timeout)
        finally:
            self.completions.pop(ident, None)
        return slot[1]

    def _read_frames(self, proc, fd):
        with os.fdopen(fd, "rb") as f:
            while True:
                header = f.read(5)
                if len(header) < 5:
                    break
                kind, length = struct.unpack(">cI", header)
                payload = f.read(length).decode("utf-8", "replace")
                run = self.run
                if kind == b"o" and run is not None:
                    run.append("stdout", payload)
                elif kind == b"e" and run is not None:
                    run.append("stderr", payload)
                elif kind == b"w" and run is not None:
                    self.waiting_input = True
                    run.mark("waiting-input", None, json.loads(payload))
                elif kind == b"f" and run is not None:
                    run.mark("finished", json.loads(payload)["exitCode"])
                elif kind == b"c":
                    reply = json.loads(payload)
                    slot = self.completions.get(reply.get("id"))
                    if slot is not None:
                        slot[1] = reply["suggestions"]
                        slot[0].set()
        code = proc.wait()
        self.log(f"query interpreter exited with code {code}")
        run = self.run
        if run is not None and run.is_running():
            run.append("stderr", f"[runner: the interpreter exited with code {code}; its state is lost]\n")
            run.mark("finished", code if code >= 0 else 128 - code)

    def _read_raw(self, pipe, kind):
        def write(text):
            run = self.run
            if run is not None and run.is_running():
                run.append(kind, text)

        pump_text(pipe, write)
