"""Services: long-running processes in the kernel reached through published ports.

A service's command comes from `/etc/backend.ai/service-defs/<name>.json` in the image
(`{"command": [...] or "shell string", "env": {...}}`; `{port}` and `{ports[i]}` are replaced by
the service's container ports), else from the built-in table below. Starting waits until the
first port accepts TCP connections; stopping sends SIGTERM to the process group, then SIGKILL.
Services are user processes: oom_score_adj 1000, and killed with the rest when the runner must
free the pids limit (runner/limits.py); they then count as stopped.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

from runner.limits import raise_oom_score, spawn, stop_group

DEFS_DIR = os.environ.get("KERNEL_SERVICE_DEFS", "/etc/backend.ai/service-defs")
BUILTIN = {
    "http-server": {"command": [sys.executable, "-m", "http.server", "{port}"]},
}
LAUNCH_TIMEOUT = float(os.environ.get("KERNEL_SERVICE_LAUNCH_TIMEOUT", "30"))
STOP_GRACE = 2.0


def find_definition(name):
    path = os.path.join(DEFS_DIR, name + ".json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    return BUILTIN.get(name)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Services:
    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.procs = {}
        self.stopped = set()  # services that ran here and have stopped
        self.lock = threading.Lock()

    def start(self, name, ports, opts):
        with self.lock:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                return {"status": "running"}
            definition = find_definition(name)
            if definition is None:
                return {"status": "failed", "error": f"unsupported service: {name}"}
            if not ports:
                return {"status": "failed", "error": f"service {name} has no port"}
            fmt = {"port": ports[0], "ports": ports}
            command = definition["command"]
            if isinstance(command, str):
                argv = ["/bin/sh", "-c", command.format(**fmt)]
            else:
                argv = [str(a).format(**fmt) for a in command]
            env = dict(os.environ)
            env.pop("KERNEL_RUNNER_SOCKET", None)
            env.update({k: str(v) for k, v in definition.get("env", {}).items()})
            env.update({k: str(v) for k, v in (opts.get("envs") or {}).items()})
            try:
                proc = spawn(argv, cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
            except (FileNotFoundError, PermissionError) as e:
                return {"status": "failed", "error": f"the executable file is not found: {argv[0]} ({e})"}
            except OSError as e:
                return {"status": "failed", "error": f"the process could not be started: {argv[0]} ({e})"}
            # Not race-free like a batch command's (runner/limits.user_argv), but a service is not
            # started by user code, and it forks its workers after this.
            raise_oom_score(proc.pid)
            self.procs[name] = proc
            self.stopped.discard(name)
            deadline = time.monotonic() + LAUNCH_TIMEOUT
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    del self.procs[name]
                    return {"status": "failed",
                            "error": f"the process did not start properly: exit code {proc.returncode}"}
                if port_open(ports[0]):
                    return {"status": "started"}
                time.sleep(0.05)
            stop_group(proc, STOP_GRACE)
            del self.procs[name]
            return {"status": "failed", "error": f"opening the service port timed out: {ports[0]}"}

    def shutdown(self, name):
        """Stop the service: "stopped", or "already-stopped" if it ran before; LookupError if it never ran."""
        with self.lock:
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                if proc is None and name not in self.stopped:
                    raise LookupError(f"service {name} is not running in this kernel")
                self.stopped.add(name)
                return "already-stopped"
            self.stopped.add(name)
        stop_group(proc, STOP_GRACE)
        return "stopped"

    def reap(self):
        """Forget services that have exited (reaping them: a zombie still counts against the pids
        limit); they count as stopped. Never waits: a start in progress holds the lock for up to
        LAUNCH_TIMEOUT, and sees its own service exit."""
        if not self.lock.acquire(blocking=False):
            return
        try:
            for name, proc in list(self.procs.items()):
                if proc.poll() is not None:
                    del self.procs[name]
                    self.stopped.add(name)
        finally:
            self.lock.release()

    def shutdown_all(self):
        for name in list(self.procs):
            with contextlib.suppress(LookupError):
                self.shutdown(name)

