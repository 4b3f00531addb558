"""Model services of an inference kernel: pre-start actions, the service in its own process group,
and its health, checked from inside the kernel (the agent asks; the runner looks). Services are
user processes: oom_score_adj 1000, and killed with the rest when the runner must free the
kernel's limits (runner/limits.py).

Ops (runner/server.py): `start-model-service` {name, model_path, service}, `check-model-service`
{name, port, path, timeout, expected_status_code}, `stop-model-service` {name}.
"""

import http.client
import os
import subprocess
import time

from runner.limits import raise_oom_score, spawn, stop_group, user_argv

STOP_GRACE = 2.0


def _run_pre_start(action, work_dir, env):
    kind, args = action.get("action"), action.get("args") or {}
    if kind == "write_file":
        path = args["filename"]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(args.get("body", ""))
        os.chmod(path, int(args.get("mode", "644"), 8))
    elif kind == "mkdir":
        os.makedirs(args["path"], exist_ok=True)
    elif kind == "run_command":
        command = args["command"]
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        done = subprocess.run(user_argv(argv), cwd=work_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=float(args.get("timeout", 60)))
        if done.returncode != 0:
            tail = (done.stderr or done.stdout or b"")[-300:].decode("utf-8", "replace")
            raise RuntimeError(f"pre-start command {argv!r} exited with {done.returncode}: {tail}")
    else:
        raise ValueError(f"unknown pre-start action {kind!r}")


class ModelServices:
    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.procs = {}

    def start(self, req):
        """Run the pre-start actions, then the service; {"status": "started"|"running"|"failed", ...}."""
        name, service = req["name"], req["service"]
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            return {"status": "running", "pid": proc.pid}
        env = dict(os.environ)
        env.pop("KERNEL_RUNNER_SOCKET", None)
        env.update({"BACKEND_MODEL_NAME": name, "BACKEND_MODEL_PATH": req.get("model_path", "")})
        env.update({k: str(v) for k, v in (service.get("environ") or {}).items()})
        try:
            for action in service.get("pre_start_actions") or []:
                _run_pre_start(action, self.work_dir, env)
        except Exception as e:  # a failed action is the service's failure, never the runner's
            return {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        command = service["start_command"]
        argv = [service.get("shell") or "/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        try:
            proc = spawn(argv, cwd=self.work_dir, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            return {"status": "failed", "error": f"cannot start {argv[0]!r}: {e}"}
        raise_oom_score(proc.pid)  # a user process: the OOM killer's choice before the runner
        self.procs[name] = proc
        return {"status": "started", "pid": proc.pid}

    def check(self, req):
        """Whether the service answers its health path with the expected status, and lives."""
        proc = self.procs.get(req["name"])
        alive = proc is not None and proc.poll() is None
        result = {"alive": alive, "exit_code": None if proc is None or alive else proc.returncode,
                  "healthy": False, "status": None, "error": None}
        if not alive:
            result["error"] = ("not started" if proc is None else f"the service exited with code {proc.returncode}")
            return result
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", int(req["port"]), timeout=float(req.get("timeout_s", 5)))
        try:
            conn.request("GET", req.get("path") or "/")
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException) as e:
            result["error"] = f"{type(e).__name__}: {e}"
            return result
        finally:
            conn.close()
        result["status"] = status
        result["healthy"] = status == int(req.get("expected_status_code", 200))
        if not result["healthy"]:
            result["error"] = f"answered {status} in {time.monotonic() - started:.3f} s"
        return result

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return "already-stopped"
        stop_group(proc, STOP_GRACE)
        return "stopped"

    def reap(self):
        """Reap services that have exited (a zombie still counts against the pids limit); `check`
        then reports their exit code."""
        for proc in list(self.procs.values()):
            proc.poll()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)
