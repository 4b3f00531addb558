"""The layers import only downwards: contract/ nothing of ours (pydantic only), worker/ never tasks/
or agent_client/, agent_client/ never docker or worker/ (and imports with them missing)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
OURS = {"contract", "worker", "tasks", "agent_client", "runner", "celeryconfig"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level names each module of `package` imports (at any depth of the module)."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("contract", OURS - {"contract"} | {"celery", "kombu", "docker", "redis"}),
    ("worker", {"tasks", "agent_client"}),
    ("agent_client", {"docker", "worker", "tasks", "runner"}),
    ("runner", OURS - {"runner"}),
])
def test_a_layer_never_imports_the_layers_it_must_not(package: str, forbidden: set[str]) -> None:
    offenders = {m: sorted(names & forbidden) for m, names in imported_roots(package).items() if names & forbidden}
    assert offenders == {}


def test_celery_in_worker_is_only_the_app_its_bootsteps_its_result_backend_and_the_entry_point() -> None:
    users = sorted(m for m, names in imported_roots("worker").items() if "celery" in names)
    assert users == ["worker/app.py", "worker/bootsteps.py", "worker/main.py", "worker/shared_redis/backend.py"]


def test_the_manager_package_imports_with_docker_and_the_worker_unavailable() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('docker', 'worker', 'tasks'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import agent_client, agent_client.cli.main, agent_client.images, agent_client.events\n"
        "agent_client.cli.main.build_parser()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", blocker], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(REPO)): n for pkg in ("contract", "worker", "tasks", "agent_client", "runner")
            for p in (REPO / pkg).rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
