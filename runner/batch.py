"""Batch mode: the `clean`, `build` and `exec` shell commands of one run, one after another.

Each step runs `/bin/sh -c CMD` in /home/work in its own process group, with oom_score_adj 1000
(runner/limits.py), streams its output into the run and ends with its marker: `clean-finished`,
`build-finished`, then `finished`. Steps with no command are skipped (`exec` falls back to the
run's code). A failed build skips `exec`, which then finishes with exit code 127. When the runner
had to kill the user's processes (the pids limit was reached) the run ends at once with 137.
"""

import contextlib
import os
import signal
import subprocess

from runner.limits import spawn, start_thread, user_argv
from runner.pipes import pump_text

STEPS = (("clean", "clean-finished"), ("build", "build-finished"), ("exec", "finished"))


class BatchJob:
    def __init__(self, run, opts, code, work_dir, before_end=None):
        self.run = run
        self.before_end = before_end  # after each step: the kernel's notes; True if it killed all
        self.opts = opts
        self.code = code
        self.work_dir = work_dir
        self.proc = None
        self.cancelled = False

    def start(self):
        """Run the steps on a thread of their own; RuntimeError if no thread can be started."""
        start_thread(self._drive)

    def interrupt(self):
        self._signal(signal.SIGINT)
        self.run.drop_overflow = True

    def kill(self):
        self.cancelled = True
        self._signal(signal.SIGKILL)

    def _signal(self, sig):
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, sig)

    def _drive(self):
        build_failed = False
        for step, marker in STEPS:
            cmd = (self.opts.get(step) or "").strip()
            if step == "exec":
                cmd = cmd or self.code.strip()
                if build_failed:
                    self.run.append("stderr", "[runner: build failed; exec skipped]\n")
                    self.run.mark(marker, 127)
                    return
                if not cmd:
                    self.run.mark(marker, 0)
                    return
            elif not cmd:
                continue
            code = self._run_command(cmd)
            if self.cancelled:
                return
            if self.before_end is not None and self.before_end():
                self.run.mark("finished", 137)
                return
            if step == "build" and code != 0:
                build_failed = True
            self.run.mark(marker, code)

    def _run_command(self, cmd):
        env = dict(os.environ)
        env.pop("KERNEL_RUNNER_SOCKET", None)
        env["_BACKEND_BATCH_MODE"] = "1"
        try:
            self.proc = proc = spawn(
                user_argv(["/bin/sh", "-c", cmd]), cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            self.run.note(f"[runner: cannot start {cmd!r}: {e}]\n")
            return 127
        readers = []
        try:
            for pipe, kind in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
                readers.append(start_thread(self._pump, pipe, kind))
        except RuntimeError as e:  # no thread to read its output: the command cannot run
            self._signal(signal.SIGKILL)
            for pipe in (proc.stdout, proc.stderr)[len(readers):]:
                pipe.close()
            self.run.note(f"[runner: cannot read the output of {cmd!r}: {e}]\n")
        code = proc.wait()
        for r in readers:
            r.join()
        if len(readers) < 2:
            return 127
        return code if code >= 0 else 128 - code

    def _pump(self, pipe, kind):
        pump_text(pipe, lambda text: self.run.append(kind, text))
