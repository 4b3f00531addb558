"""The kernel runner's files on the host, where Docker can mount them into kernels.

The runner package is copied into `{var_dir}/runners/<content hash>/` (once per version), and
that directory is what kernels mount read-only. The var dir is a host path even when the agent
itself runs in a container (it is mounted at the same path), and a new agent version never changes
the files under a kernel that still runs the old runner.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import runner

SOURCE_DIR = Path(runner.__file__).resolve().parent


def _runner_files() -> list[Path]:
    return sorted(p for p in SOURCE_DIR.glob("*.py") if p.is_file())


def runner_version() -> str:
    """A short hash of the runner's files (names and contents)."""
    digest = hashlib.sha256()
    for p in _runner_files():
        digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def install_runner(var_dir: Path) -> Path:
    """The host directory holding this version of the runner, made if it is missing."""
    target = var_dir.resolve() / "runners" / runner_version()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".runner-", dir=target.parent))
    for p in _runner_files():
        shutil.copy2(p, staging / p.name)
    os.chmod(staging, 0o755)
    try:
        staging.rename(target)  # atomic: another process installing the same version wins or loses whole
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return target
