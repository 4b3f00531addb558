"""Changing the host's scaling group in agent.toml without losing the file's comments or layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import tomlkit
from tomlkit.items import Table


def write_scaling_group(path: Path, scaling_group: str) -> None:
    """Set `[agent] scaling-group` in `path`, keeping a copy of the old file at `<path>.bak`."""
    text = path.read_text() if path.exists() else ""
    doc = tomlkit.parse(text)
    section = doc.get("agent")
    if not isinstance(section, Table):
        section = tomlkit.table()
        doc["agent"] = section
    section["scaling-group"] = scaling_group
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomlkit.dumps(doc))
    tmp.replace(path)  # atomic: a crash leaves the old or the new file, never half of one
