"""The kernel's memory and pids limits: keeping the runner alive when user code exhausts them.

User processes (the query interpreter, batch commands, services) run with oom_score_adj 1000, so
the container's OOM killer takes one of them, never the runner (0). A process limit reached stays
reached (nothing frees it), so when the cgroup reports it, the runner kills every process of the
container but PID 1 (the init) and itself. The runner serves the agent with threads it started in
advance and retries a thread or a process that cannot be started for a moment, as the pids come
back once the killed processes are reaped. docs/execution.md says what a user sees.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time

OOM_SCORE_ADJ = 1000  # the most likely victim: any user process before the runner
RETRY_FOR = 3.0       # seconds to retry a thread or process start while the pids limit holds
CGROUP = "/sys/fs/cgroup"
INITS = ("docker-init", "tini", "tini-static", "dumb-init")


def user_argv(argv):
    """`argv` run through /bin/sh, which raises its oom_score_adj before `exec`: the command and
    everything it starts are the OOM killer's first choice, with no window where they are not."""
    return ["/bin/sh", "-c", f'echo {OOM_SCORE_ADJ} >/proc/self/oom_score_adj 2>/dev/null; exec "$@"',
            "sh", *argv]


def raise_oom_score(pid="self"):
    """Make a process (default: this one) the OOM killer's first choice (no privilege needed)."""
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write(str(OOM_SCORE_ADJ))
    except OSError:
        pass


def start_thread(target, *args, retry_for=RETRY_FOR):
    """Start a daemon thread; while the pids limit holds (a thread is a pid), retry for a moment."""
    deadline = time.monotonic() + retry_for
    while True:
        thread = threading.Thread(target=target, args=args, daemon=True)
        try:
            thread.start()
            return thread
        except RuntimeError:  # "can't start new thread"
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def spawn(argv, retry_for=RETRY_FOR, **popen_kwargs):
    """subprocess.Popen, retried for a moment while fork fails with EAGAIN (the pids limit)."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return subprocess.Popen(argv, **popen_kwargs)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def stop_group(proc, grace):
    """SIGTERM to the process group `proc` leads, SIGKILL after `grace` seconds; reaped."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class Counter:
    """One key of a flat-keyed cgroup file ("key value" lines), kept open: a pread is about 1 us,
    an open and read about 70 us, and the runner reads it at the end of every run."""

    def __init__(self, path, key):
        self.key = key.encode() + b" "
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = None

    def read(self):
        if self.fd is None:
            return None
        try:
            data = os.pread(self.fd, 4096, 0)
        except OSError:
            return None
        for line in data.splitlines():
            if line.startswith(self.key):
                return int(line[len(self.key):])
        return None


def in_own_container():
    """True when this process is the container's init or the direct child of its docker-init/tini,
    i.e. when `kill(-1)` reaches exactly the container's other processes, and nothing on a host."""
    if os.getpid() == 1:
        return True
    if os.getppid() != 1:
        return False
    try:
        with open("/proc/1/cmdline", "rb") as f:
            init = f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return False
    return os.path.basename(init) in INITS


class Limits:
    """The container cgroup's memory and pids limits and how often each was hit (v1 or v2)."""

    def __init__(self, root=CGROUP):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):  # v2: one unified hierarchy
            pids, memory = root, root
            memory_max, memory_events = "memory.max", "memory.events"
        else:                                                         # v1: one hierarchy a controller
            pids, memory = os.path.join(root, "pids"), os.path.join(root, "memory")
            memory_max, memory_events = "memory.limit_in_bytes", "memory.oom_control"
        self.pids_max = _read_int(os.path.join(pids, "pids.max"))
        self.memory_max = _read_int(os.path.join(memory, memory_max))
        self._refused = Counter(os.path.join(pids, "pids.events"), "max")        # forks refused
        self._oom = Counter(os.path.join(memory, memory_events), "oom_kill")      # OOM killer's kills
        self.refused_forks = self._refused.read()
        self.oom_kills = self._oom.read()

    def readable(self):
        return self.refused_forks is not None or self.oom_kills is not None

    def poll(self):
        """(forks refused by the pids limit, processes killed by the OOM killer) since the last poll."""
        refused, oom = self._refused.read(), self._oom.read()
        new = (max(0, (refused or 0) - (self.refused_forks or 0)), max(0, (oom or 0) - (self.oom_kills or 0)))
        self.refused_forks, self.oom_kills = refused, oom
        return new

    def describe_memory(self):
        if self.memory_max is None or self.memory_max >= 1 << 60:
            return "no memory limit"
        return f"limit {self.memory_max / (1 << 20):.0f} MiB"

    def describe_pids(self):
        return f"its limit of {self.pids_max} processes" if self.pids_max else "its process limit"


def kill_all_others():
    """SIGKILL every process of this PID namespace but PID 1 and this one, at once: kill(2) with
    pid -1 holds the task list while it signals, so a fork bomb cannot outrun it."""
    with contextlib.suppress(ProcessLookupError):  # there was nothing to kill
        os.kill(-1, signal.SIGKILL)


def lock_code_in_memory():
    """mlock this process's read-only file mappings (its code and constants) within RLIMIT_MEMLOCK:
    first the python executable's, libc's and the loader's, then other code, smallest first.
    With no swap, file pages are the only memory the kernel can take back from the runner, and a
    runner that must read its code again while user code exhausts memory waits behind every OOM
    kill (measured: 35 to 77 s instead of about 1 s to end a fork bomb). Returns the bytes locked
    (0 where mlock or ctypes is not available)."""
    try:
        import ctypes  # not in every minimal python3: then nothing is locked
        import resource

        libc = ctypes.CDLL(None, use_errno=True)
        libc.mlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        budget = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
        exe = os.path.realpath("/proc/self/exe")
    except (ImportError, OSError, AttributeError, ValueError):
        return 0
    if budget == resource.RLIM_INFINITY:
        budget = 64 << 20
    core = (exe, "/libc.so", "/libc-", "/ld-linux")
    ranges = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or not parts[5].startswith("/") or not parts[1].startswith("r-"):
                continue  # only mapped files, read-only (written pages are anonymous memory anyway)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            is_core = parts[5] == exe or any(c in parts[5] for c in core[1:])
            rank = 0 if is_core else 1 if parts[1][2] == "x" else 2
            ranges.append((rank, hi - lo, lo))
    locked = 0
    for _, size, lo in sorted(ranges):
        if locked + size <= budget and libc.mlock(ctypes.c_void_p(lo), ctypes.c_size_t(size)) == 0:
            locked += size
    return locked
