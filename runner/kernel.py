"""What runs in a kernel, as the runner holds it: the current run, the query interpreter, a batch
job, services and model services, the exec-timeout, and what the runner does when user code
exhausts the container's memory or pids limit (docs/execution.md; the limits: runner/limits.py).
"""

import collections
import os
import sys
import threading
import time
import uuid

from runner.batch import BatchJob
from runner.limits import kill_all_others
from runner.models import ModelServices
from runner.query import QueryProcess
from runner.runs import Run
from runner.services import Services

TICK = 0.2            # seconds between the guard thread's checks (limits, exec-timeout) during a run
IDLE_TICK = 1.0       # ... between runs, when only what a run left behind can exhaust a limit
OOM_STORM = 3         # OOM kills within OOM_STORM_S seconds that mean memory stays exhausted
OOM_STORM_S = 2.0


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
        self.run_started = threading.Event()  # wakes the guard from its between-runs pace
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
                self.run_started.set()
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
        does, for the socket's inode), this one goes on and ends it. Between runs it checks every
        IDLE_TICK (a host holds many idle kernels); a run's start wakes it at once."""
        while True:
            run = self.run
            busy = (run is not None and run.is_running()) or self.recent_ooms
            if self.run_started.wait(TICK if busy else IDLE_TICK):
                self.run_started.clear()
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
