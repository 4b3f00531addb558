"""Kernel images made for a test from the local kernel image; the test's fixture removes them. They
carry no test label: a parallel session's clean-up removes labelled images made after it started,
which would pull this one (or a layer of its build) from under the test."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.support.agent_process import REPO


def build_slow_runner_image(workdir: Path, seconds: float) -> str:
    """kernel-python:latest whose runner starts `seconds` after its container does."""
    subprocess.run([str(REPO / "images" / "build-python-kernel.sh")], check=True, capture_output=True)
    (workdir / "Dockerfile").write_text(
        "FROM kernel-python:latest\n"
        "RUN mv /usr/bin/python3 /usr/bin/python3.real && "
        f"printf '#!/bin/sh\\nsleep {seconds}\\nexec /usr/bin/python3.real \"$@\"\\n' > /usr/bin/python3 && "
        "chmod +x /usr/bin/python3\n")
    tag = f"test-slow-runner:{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["docker", "build", "-q", "-t", tag, str(workdir)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"docker build of {tag} failed: {done.stderr}")
    return tag
