"""A private registry for pull and push tests: Debian's `docker-registry` with htpasswd auth on a
free loopback port, plain HTTP (Docker treats 127.0.0.0/8 registries as insecure), temp storage."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.support.redis_server import free_port

USERNAME = "agent-test"
PASSWORD = "s3cret-registry-pw"

CONFIG = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: agent-test
    path: {root}/htpasswd
"""


class LocalRegistry:
    """`host` ("127.0.0.1:<port>") is what image names start with; `catalog()`/`tags()` read its API."""

    def __init__(self) -> None:
        exe = shutil.which("docker-registry")
        htpasswd = shutil.which("htpasswd")
        if exe is None or htpasswd is None:
            raise RuntimeError(
                "docker-registry and htpasswd are needed (apt-get install docker-registry "
                "apache2-utils): the pull and push tests use a real registry"
            )
        self.root = Path(tempfile.mkdtemp(prefix="agent-test-registry-"))
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        line = subprocess.run(
            [htpasswd, "-Bbn", USERNAME, PASSWORD], check=True, capture_output=True, text=True
        )
        (self.root / "htpasswd").write_text(line.stdout)
        (self.root / "config.yml").write_text(CONFIG.format(root=self.root, port=self.port))
        self.proc = subprocess.Popen(
            [exe, "serve", str(self.root / "config.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{self.url}/v2/", timeout=1).status_code == 401:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"docker-registry did not start on {self.host}")
            time.sleep(0.05)

    def _get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", auth=(USERNAME, PASSWORD), timeout=10)

    def catalog(self) -> list[str]:
        return list(self._get("/v2/_catalog").json().get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; [] when the registry has no such repository."""
        r = self._get(f"/v2/{repository}/tags/list")
        if r.status_code == 404:
            return []
        r.raise_for_status()
        return list(r.json().get("tags") or [])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
