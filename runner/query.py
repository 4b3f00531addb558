"""The runner's side of the query-mode interpreter (runner/child.py).

The child holds the user's namespace; the runner starts it on first use, in a session of its own,
forwards its frames and its raw stdout/stderr (output of subprocesses) into the current run, and
starts a fresh one if it dies. When it dies (a crash, the OOM killer, a cancel), what it left
running in its session is killed with it, and its run ends with its exit status and a note that
its state is lost.
"""

import contextlib
import itertools
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading

from runner.limits import spawn, start_thread
from runner.pipes import pump_text

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
EXIT_CHECK = 0.5  # seconds between checks that the interpreter lives while its frame pipe is quiet,
#                   where no pidfd tells it (Linux < 5.3)


class QueryProcess:
    def __init__(self, work_dir, log, before_end=None):
        self.work_dir = work_dir
        self.log = log
        # Called before a run ends: the kernel adds its notes on limits hit; True when it killed
        # the user's processes.
        self.before_end = before_end
        self.proc = None
        self.ctl = None
        self.run = None             # the Run receiving output
        self.run_proc = None        # the interpreter that run was sent to
        self.reader = None          # the thread reading the interpreter's frames
        self.waiting_input = False
        self.lock = threading.Lock()
        self.completions = {}       # request id -> [threading.Event, suggestions]
        self.ids = itertools.count(1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ensure_started(self):
        """Start the interpreter unless it runs; OSError or RuntimeError when it cannot start."""
        with self.lock:
            if self.alive():
                return
            ctl_r, ctl_w = os.pipe()
            evt_r, evt_w = os.pipe()
            env = dict(os.environ)
            env.pop("KERNEL_RUNNER_SOCKET", None)
            env["KERNEL_WORK_DIR"] = self.work_dir
            try:
                proc = spawn(
                    [sys.executable, CHILD, str(ctl_r), str(evt_w)], pass_fds=(ctl_r, evt_w),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    cwd=self.work_dir, env=env, start_new_session=True)
            except BaseException:
                for fd in (ctl_w, evt_r):
                    os.close(fd)
                raise
            finally:
                os.close(ctl_r)
                os.close(evt_w)
            self.proc = proc
            self.ctl = os.fdopen(ctl_w, "wb", buffering=0)
            pipes = [proc.stdout, proc.stderr]
            try:
                self.reader = start_thread(self._read_frames, proc, evt_r)
                evt_r = None
                for pipe, kind in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
                    start_thread(self._read_raw, pipe, kind)
                    pipes.remove(pipe)
            except RuntimeError:  # no thread to read it: an interpreter nobody hears is no use
                self._kill_session(proc)
                for pipe in pipes:
                    pipe.close()
                if evt_r is not None:
                    os.close(evt_r)
                    proc.wait()
                raise

    def _send(self, **cmd):
        self.ctl.write((json.dumps(cmd) + "\n").encode())

    def execute(self, run, code):
        self.ensure_started()
        self.run = run
        self.run_proc = self.proc
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
        """Kill the interpreter and everything it started in its session."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            self._kill_session(proc)
            proc.wait()

    def shutdown(self):
        """Kill the interpreter and wait until its reader is done: a daemon thread still writing to
        stderr while the runner exits makes Python abort (SIGABRT) instead of exiting with 0."""
        self.kill()
        if self.reader is not None:
            self.reader.join(5.0)

    @staticmethod
    def _kill_session(proc):
        # The interpreter leads its session and process group (start_new_session): its pid stays
        # that group's id while it is unreaped or the group has members, so this hits nothing else.
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)

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
        buf = bytearray()
        exit_fd = _pidfd(proc.pid)  # readable once the interpreter exits: no polling while idle
        watched = [fd] if exit_fd is None else [fd, exit_fd]
        try:
            while True:
                ready = select.select(watched, [], [], EXIT_CHECK if exit_fd is None else None)[0]
                if fd not in ready:
                    if self._exited(proc):
                        # Processes it forked may hold the pipe open: kill them, take what is left.
                        self._kill_session(proc)
                        while select.select([fd], [], [], 0)[0] and self._take(buf, os.read(fd, 65536)):
                            pass
                        break
                    continue
                if not self._take(buf, os.read(fd, 65536)):
                    break
        finally:
            os.close(fd)
            if exit_fd is not None:
                os.close(exit_fd)
        self._kill_session(proc)  # what it left running in its session
        code = proc.wait()
        self.log(f"query interpreter exited with code {code}")
        run = self.run
        if run is None or self.run_proc is not proc or not run.is_running():
            return  # no run, or a new run already went to a new interpreter
        killed = self.before_end is not None and self.before_end()
        if not killed:  # else the kernel's note already says why and that the state is lost
            run.note(f"[runner: the interpreter exited with code {code}; its state is lost]\n")
        run.mark("finished", code if code >= 0 else 128 - code)

    @staticmethod
    def _exited(proc):
        """Whether the interpreter has exited, without reaping it."""
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:  # already reaped (kill() waited for it)
            return True

    def _take(self, buf, data):
        """Add `data` to `buf` and handle each complete frame in it; False at EOF."""
        if not data:
            return False
        buf += data
        while len(buf) >= 5:
            kind, length = struct.unpack_from(">cI", buf)
            if len(buf) < 5 + length:
                break
            payload = bytes(buf[5:5 + length]).decode("utf-8", "replace")
            del buf[:5 + length]
            self._frame(kind, payload)
        return True

    def _frame(self, kind, payload):
        run = self.run
        if kind == b"o" and run is not None:
            run.append("stdout", payload)
        elif kind == b"e" and run is not None:
            run.append("stderr", payload)
        elif kind == b"w" and run is not None:
            self.waiting_input = True
            run.mark("waiting-input", None, json.loads(payload))
        elif kind == b"f" and run is not None:
            code = json.loads(payload)["exitCode"]
            if self.before_end is not None and self.before_end():
                code = 137  # the runner killed the user's processes: the run counts as killed
            run.mark("finished", code)
        elif kind == b"c":
            reply = json.loads(payload)
            slot = self.completions.get(reply.get("id"))
            if slot is not None:
                slot[1] = reply["suggestions"]
                slot[0].set()

    def _read_raw(self, pipe, kind):
        def write(text):
            run = self.run
            if run is not None and run.is_running():
                run.append(kind, text)

        pump_text(pipe, write)


def _pidfd(pid):
    """A pidfd of `pid` (Linux 5.3+), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
