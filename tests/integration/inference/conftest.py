"""Model services made of stdlib Python for the inference tests: an HTTP server written into the
kernel by a pre-start action, healthy at once, late, never, or dying after a while."""

from __future__ import annotations

from typing import Any

SERVER = '''\
import http.server, os, sys, threading, time
port, mode, started = int(sys.argv[1]), sys.argv[2], time.time()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        healthy = mode in ("healthy", "dies") or (mode == "late" and time.time() - started > 2)
        code = (200 if healthy else 503) if self.path == "/health" else 200
        body = ("model " + os.environ.get("BACKEND_MODEL_NAME", "?") + "\\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

if mode == "dies":
    threading.Timer(float(os.environ.get("DIE_AFTER", "3")), lambda: os._exit(3)).start()
http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
'''


def model_definition(mode: str, *, name: str = "echo", port: int = 8000, interval: float = 0.5,
                     max_wait: float = 10.0, restart: bool = False, **environ: str) -> dict[str, Any]:
    return {"models": [{
        "name": name, "model_path": "/home/work/model",
        "service": {
            "pre_start_actions": [
                {"action": "mkdir", "args": {"path": "/home/work/model"}},
                {"action": "write_file", "args": {"filename": "/home/work/server.py", "body": SERVER}},
            ],
            "start_command": ["python3", "/home/work/server.py", str(port), mode],
            "port": port, "environ": environ, "restart_on_failure": restart,
            "health_check": {"path": "/health", "interval": interval, "max_retries": 2,
                             "max_wait_time": max_wait, "timeout": 2},
        },
    }]}


def inference_config(image: str, definition: dict[str, Any]) -> dict[str, Any]:
    return {"image": {"canonical": image, "is_local": True}, "resource_slots": {"cpu": 1, "mem": "256m"},
            "session_type": "inference", "internal_data": {"model_definition": definition}}
