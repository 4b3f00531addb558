"""The systemd unit in the repository: valid for systemd, stops the agent with SIGINT (kernels kept)
and starts it again whenever it ends."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
UNIT = REPO / "scripts" / "systemd" / "kernel-agent.service"
INSTALL_DIR = "/opt/kernel-agent"  # where docs/operations.md installs the project


def settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_the_unit_stops_the_agent_with_sigint_and_always_restarts_it() -> None:
    s = settings(UNIT.read_text())
    assert (s["KillSignal"], s["Restart"]) == ("SIGINT", "always")
    assert s["ExecStart"] == f"{INSTALL_DIR}/.venv/bin/agent-worker"
    assert s["After"].split()[0] == "docker.service"


def test_systemd_accepts_the_unit_installed_from_this_checkout(tmp_path: Path) -> None:
    unit = tmp_path / "kernel-agent.service"
    unit.write_text(UNIT.read_text().replace(INSTALL_DIR, str(REPO)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kernel-agent.service" not in done.stderr  # no warning about the unit itself
