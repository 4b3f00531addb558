"""Batch mode: the `clean`, `build` and `exec` shell commands of one run, one after another.

Each step runs `/bin/sh -c CMD` in /home/work in its own process group, streams its output into
the run and ends with its marker: `clean-finished`, `build-finished`, then `finished`. Steps with
no command are skipped (`exec` falls back to the run's code). A failed build skips `exec`, which
then finishes with exit code 127.
"""

import contextlib
import os
import signal
import subprocess
import threading

from runner.pipes import pump_text

STEPS = (("clean", "clean-finished"), ("build", "build-finished"), ("exec", "finished"))


class BatchJob:
    def __init__(self, run, opts, code, work_dir):
        self.run = run
        self.opts = opts
        self.code = code
        self.work_dir = work_dir
        self.proc = None
        self.cancelled = False

    def start(self):
        threading.Thread(target=self._drive, daemon=True).start()

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
            if step == "build" and code != 0:
                build_failed = True
            self.run.mark(marker, code)

    def _run_command(self, cmd):
        env = dict(os.environ)
        env.pop("KERNEL_RUNNER_SOCKET", None)
        env["_BACKEND_BATCH_MODE"] = "1"
        try:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", cmd], cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            self.run.append("stderr", f"[runner: cannot start {cmd!r}: {e}]\n")
            return 127
        readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, "stdout"), daemon=True),
                   threading.Thread(target=self._pump, args=(self.proc.stderr, "stderr"), daemon=True)]
        for r in readers:
            r.start()
        code = self.proc.wait()
        for r in readers:
            r.join()
        return code if code >= 0 else 128 - code

    def _pump(self, pipe, kind):
        pump_text(pipe, lambda text: self.run.append(kind, text))
