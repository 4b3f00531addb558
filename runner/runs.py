"""A run: the bounded, ordered output buffer of one execution, held by the runner.

Producers (pipe readers, the batch driver) append `[type, data]` records and end markers; the
agent collects with `collect(flush_timeout)`. Everything the agent needs to resume a run lives
here, so a `continue` from a restarted agent gets the rest of the output.
"""

import threading
import time

MAX_BUFFER = 8 << 20   # bytes of undelivered output before producers block (back-pressure)
REPLY_LIMIT = 1 << 20  # bytes of output in one reply; more waits for the next `continue`
FINAL = ("finished", "exec-timeout")


class Marker:
    """An end-of-step marker in the record stream (finished, build-finished, waiting-input...)."""

    __slots__ = ("exit_code", "options", "status")

    def __init__(self, status, exit_code=None, options=None):
        self.status = status
        self.exit_code = exit_code
        self.options = options


class Run:
    def __init__(self, run_id, kind):
        self.run_id = run_id
        self.kind = kind            # "query" or "batch"
        self.records = []           # [type, [text, ...]] lists and Marker objects, in order
        self.size = 0               # bytes of text in `records`
        self.ended = False          # a final marker was appended
        self.delivered = False      # the final marker was handed to the agent
        self.drop_overflow = False  # interrupted: drop output beyond the bound instead of blocking
        self.dropped = 0
        self.killed = False         # the runner killed the user's processes during it (a limit hit)
        self.started_at = time.time()
        self.cond = threading.Condition()

    def append(self, kind, data):
        """Add output; blocks while the buffer is full (the producer's pipe fills up in turn)."""
        if not data:
            return
        with self.cond:
            while self.size >= MAX_BUFFER and not self.drop_overflow and not self.delivered:
                self.cond.wait(1.0)
            if self.size >= MAX_BUFFER or self.delivered:
                self.dropped += len(data)
                return
            last = self.records[-1] if self.records else None
            if isinstance(last, list) and last[0] == kind:
                last[1].append(data)  # joined when collected: no quadratic string growth
            else:
                self.records.append([kind, [data]])
            self.size += len(data)
            self.cond.notify_all()

    def note(self, text):
        """Add the runner's own note on stderr, past the bound and without blocking (it is short).
        False when the run has already ended."""
        with self.cond:
            if self.ended:
                return False
            last = self.records[-1] if self.records else None
            if isinstance(last, list) and last[0] == "stderr":
                last[1].append(text)
            else:
                self.records.append(["stderr", [text]])
            self.size += len(text)
            self.cond.notify_all()
            return True

    def mark(self, status, exit_code=None, options=None):
        """End a step; `finished` and `exec-timeout` end the run."""
        with self.cond:
            if self.ended:
                return
            if self.dropped:
                self.records.append(["stderr", [f"[runner: {self.dropped} bytes of output dropped]\n"]])
                self.dropped = 0
            self.records.append(Marker(status, exit_code, options))
            if status in FINAL:
                self.ended = True
            self.cond.notify_all()

    def collect(self, flush_timeout):
        """Output until the next marker, REPLY_LIMIT bytes or `flush_timeout` seconds, as a result."""
        deadline = time.monotonic() + max(0.0, flush_timeout)
        with self.cond:
            while not any(isinstance(r, Marker) for r in self.records) and self.size < REPLY_LIMIT:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            console = []
            taken = 0
            marker = None
            while self.records and taken < REPLY_LIMIT:
                rec = self.records[0]
                if isinstance(rec, Marker):
                    marker = self.records.pop(0)
                    break
                data = "".join(rec[1])
                room = REPLY_LIMIT - taken
                if len(data) > room:
                    console.append([rec[0], data[:room]])
                    rec[1] = [data[room:]]
                    taken += room
                else:
                    console.append([rec[0], data])
                    self.records.pop(0)
                    taken += len(data)
            self.size -= taken
            if marker is not None and marker.status in FINAL:
                self.delivered = True
            self.cond.notify_all()
        result = {"runId": self.run_id, "console": console, "exitCode": None, "options": None}
        if marker is None:
            result["status"] = "continued"
        else:
            result.update(status=marker.status, exitCode=marker.exit_code, options=marker.options)
        return result

    def is_running(self):
        return not self.ended

    def discard_marker(self, status):
        """Drop an undelivered marker of `status` (a waiting-input answered before it was seen)."""
        with self.cond:
            self.records = [r for r in self.records if not (isinstance(r, Marker) and r.status == status)]

    def abandon(self):
        """Nobody will collect this run: drop what producers still write, and wake them."""
        with self.cond:
            self.delivered = True
            self.cond.notify_all()
