"""The query-mode interpreter: a child process of the runner holding the user's namespace.

Started as `python3 child.py CTL_FD EVT_FD`. Commands arrive as JSON lines on CTL_FD
(`exec`, `input`, `complete`); output and results leave as frames on EVT_FD: one kind byte,
a 4-byte big-endian length, then UTF-8 JSON or text. Kinds: `o` stdout, `e` stderr,
`w` waiting for input, `f` finished, `c` completion reply. SIGINT raises KeyboardInterrupt in
user code only while it runs. It raises its own oom_score_adj to 1000 first, so that the OOM
killer takes it or what it starts rather than the runner (runner/limits.py). Self-contained: the
runner's directory is not on sys.path.
"""

import ast
import builtins
import io
import json
import os
import queue
import signal
import struct
import sys
import threading
import traceback

FLUSH_INTERVAL = 0.02
FLUSH_SIZE = 64 << 10
MAX_PENDING = 1 << 20


class FrameChannel:
    """Writes frames to the runner. Only the writer thread calls it, so a KeyboardInterrupt in
    the main thread can never cut a frame in half."""

    def __init__(self, fd):
        self.fd = fd

    def send(self, kind, payload):
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "replace")
        view = memoryview(struct.pack(">cI", kind, len(payload)) + payload)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


class Output:
    """One ordered queue of frames: stdout/stderr text (consecutive writes merged) and control
    frames. Any thread appends; the writer thread sends (send_forever)."""

    def __init__(self, channel):
        self.channel = channel
        self.cond = threading.Condition()
        self.pending = []  # [kind, [text, ...]]
        self.size = 0
        self.sending = False

    def write(self, kind, text):
        with self.cond:
            while self.size >= MAX_PENDING:  # the runner is not reading: wait (interruptible)
                self.cond.wait()
            first = not self.pending  # the writer thread sleeps until a first frame comes
            if self.pending and self.pending[-1][0] == kind and kind in (b"o", b"e"):
                self.pending[-1][1].append(text)
            else:
                self.pending.append([kind, [text]])
            self.size += len(text)
            if first or self.size >= FLUSH_SIZE or kind not in (b"o", b"e"):
                self.cond.notify_all()

    def flush(self):
        """Wait until everything written so far has been sent."""
        with self.cond:
            self.cond.notify_all()
            while self.pending or self.sending:
                self.cond.wait()

    def send_forever(self):
        """Asleep while nothing is written (an idle kernel costs no wake-ups); from the first frame
        on, output is gathered for FLUSH_INTERVAL, or less when FLUSH_SIZE is reached, a control
        frame comes or someone flushes."""
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                if self.size < FLUSH_SIZE and all(kind in (b"o", b"e") for kind, _ in self.pending):
                    self.cond.wait(FLUSH_INTERVAL)
                pending, self.pending, self.size = self.pending, [], 0
                self.sending = bool(pending)
                self.cond.notify_all()
            for kind, parts in pending:
                self.channel.send(kind, "".join(parts))
            with self.cond:
                self.sending = False
                self.cond.notify_all()


class Stream(io.TextIOBase):
    """What user code sees as sys.stdout / sys.stderr."""

    def __init__(self, output, kind, name):
        self._output = output
        self._kind = kind
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self._output.write(self._kind, text)
        return len(text)

    def flush(self):
        self._output.flush()


class Interpreter:
    def __init__(self, ctl_fd, evt_fd):
        self.ctl = os.fdopen(ctl_fd, "rb")
        self.channel = FrameChannel(evt_fd)
        self.output = Output(self.channel)
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.jobs = queue.Queue()
        self.inputs = queue.Queue()
        self.running = False

    # --- commands, read by a thread so completions answer while code runs ---------------------------
    def read_commands(self):
        for line in self.ctl:
            cmd = json.loads(line)
            op = cmd.get("op")
            if op == "exec":
                self.jobs.put(cmd.get("code", ""))
            elif op == "input":
                self.inputs.put(cmd.get("text", ""))
            elif op == "complete":
                reply = {"id": cmd.get("id"), "suggestions": self.complete(cmd.get("text", ""))}
                self.output.write(b"c", json.dumps(reply))
        self.jobs.put(None)  # the runner went away

    def complete(self, text):
        token = ""
        for ch in reversed(text):
            if ch.isalnum() or ch in "_.":
                token = ch + token
            else:
                break
        try:
            import jedi  # optional: richer completions where the image has it
        except ImportError:
            jedi = None
        if jedi is not None:
            try:
                script = jedi.Interpreter(text, [self.namespace])
                return [token + c.complete for c in script.complete()][:256]
            except Exception:  # jedi's own failures fall back to rlcompleter
                pass
        import rlcompleter
        completer = rlcompleter.Completer(self.namespace)
        found = []
        try:
            while len(found) < 256:
                match = completer.complete(token, len(found))
                if match is None:
                    break
                found.append(match)
        except Exception:  # a property raising during attribute lookup
            pass
        return found

    # --- user-facing input() -------------------------------------------------------------------------
    def read_input(self, prompt="", is_password=False):
        if prompt:
            sys.stdout.write(str(prompt))
        self.output.write(b"w", json.dumps({"is_password": is_password, "prompt": str(prompt)}))
        return self.inputs.get()

    def getpass(self, prompt="Password: ", stream=None):
        return self.read_input(prompt, is_password=True)

    # --- execution -----------------------------------------------------------------------------------
    def on_sigint(self, signum, frame):
        if self.running:
            raise KeyboardInterrupt

    def run_code(self, code):
        exit_code = 0
        self.running = True
        try:
            tree = ast.parse(code, "<input>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<input>", "exec"), self.namespace)
            if last is not None:
                value = eval(compile(last, "<input>", "eval"), self.namespace)
                if value is not None:
                    builtins._ = value
                    sys.stdout.write(repr(value) + "\n")
        except SystemExit as e:
            if e.code is None:
                exit_code = 0
            elif isinstance(e.code, int):
                exit_code = e.code
            else:
                sys.stderr.write(str(e.code) + "\n")
                exit_code = 1
        except KeyboardInterrupt:
            sys.stderr.write("KeyboardInterrupt\n")
            exit_code = 130
        except BaseException:
            etype, value, tb = sys.exc_info()
            # Skip this module's own frames: the user's traceback starts at <input>.
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next
            sys.stderr.write("".join(traceback.format_exception(etype, value, tb)))
            exit_code = 1
        finally:
            self.running = False
        return exit_code

    def serve(self):
        sys.stdout = Stream(self.output, b"o", "<stdout>")
        sys.stderr = Stream(self.output, b"e", "<stderr>")
        builtins.input = self.read_input
        try:
            import getpass
            getpass.getpass = self.getpass
        except ImportError:
            pass
        signal.signal(signal.SIGINT, self.on_sigint)
        threading.Thread(target=self.read_commands, daemon=True).start()
        threading.Thread(target=self.output.send_forever, daemon=True).start()
        while True:
            try:
                code = self.jobs.get()
            except KeyboardInterrupt:  # a late interrupt between runs
                continue
            if code is None:
                return
            while not self.inputs.empty():  # input meant for an earlier run
                self.inputs.get_nowait()
            exit_code = self.run_code(code)
            self.output.write(b"f", json.dumps({"exitCode": exit_code}))


def raise_oom_score():
    """Make this process and all it starts the OOM killer's first choice, before the runner."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def main():
    raise_oom_score()
    ctl_fd, evt_fd = int(sys.argv[1]), int(sys.argv[2])
    # Programs that user code runs must not hold the runner's pipes open after this process dies.
    os.set_inheritable(ctl_fd, False)
    os.set_inheritable(evt_fd, False)
    # Like the interactive interpreter: the working directory first, not the runner's directory.
    sys.path[0] = ""
    os.chdir(os.environ.get("KERNEL_WORK_DIR", os.getcwd()))
    Interpreter(ctl_fd, evt_fd).serve()


if __name__ == "__main__":
    main()
