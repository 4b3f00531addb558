"""The runner's Unix-socket server.

Wire protocol: a client connects to the socket, writes one JSON object per line
(`{"op": ..., ...}`) and reads one JSON object per line back (`{"ok": true, ...}` or
`{"ok": false, "error": "..."}`). Ops: `status` (the handshake).
"""

import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

DEFAULT_SOCKET = "/opt/kernel/ipc/runner.sock"
STARTED_AT = time.time()


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


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            try:
                request = json.loads(line)
                reply = dispatch(request)
            except Exception as e:  # a bad request must not kill the runner
                reply = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            self.wfile.write((json.dumps(reply) + "\n").encode())
            self.wfile.flush()


def dispatch(request):
    op = request.get("op")
    if op == "status":
        return {"ok": True, "started_at": STARTED_AT, "pid": os.getpid(),
                "python": "%d.%d.%d" % sys.version_info[:3]}
    return {"ok": False, "error": "unknown op %r" % (op,)}


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    load_environ()
    path = os.environ.get("KERNEL_RUNNER_SOCKET", DEFAULT_SOCKET)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = Server(path, Handler)
    os.chmod(path, 0o600)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0
