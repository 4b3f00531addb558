"""Secrets a kernel's creation needs, kept out of Redis and agent.db.

At plan time every secret of the request (a registry password, a private key, docker credentials:
contract/redaction.py's keys) is taken out of the kernel's context, which is masked before it ever
travels in a chain step or is saved, and kept in a 0600 file `{var}/secrets/{kernel_id}.json`. The
few stages that need one reveal it into their spec (memory only). The file is removed when the
creation ends, either way, and with the kernel; the reconciler removes any a crash left.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from contract.common import is_uuid
from contract.redaction import MASK, SECRET_KEYS
from worker.pipeline.context import KernelContext

Secrets = dict[str, Any]  # JSON path ("a.b.c") -> the secret value found there


def split_secrets(data: Any, prefix: str = "") -> tuple[Any, Secrets]:
    """A copy of `data` with every secret masked, and the secrets by path."""
    found: Secrets = {}
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            path = f"{prefix}{k}"
            if k in SECRET_KEYS and v is not None:
                out[k], found[path] = MASK, v
            else:
                out[k], inner = split_secrets(v, path + ".")
                found.update(inner)
        return out, found
    if isinstance(data, list):
        items = [split_secrets(v, f"{prefix}{i}.") for i, v in enumerate(data)]
        for _, inner in items:
            found.update(inner)
        return [v for v, _ in items], found
    return data, found


def join_secrets(data: Any, secrets: Secrets) -> Any:
    """`data` with the secrets put back at their paths."""
    for path, value in secrets.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data


class KernelSecrets:
    """The secrets of kernels in creation, one 0600 file each under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, ctx: KernelContext) -> Path:
        # one file per creation: a duplicate creation of the id never overwrites the other's
        return self.root / f"{ctx.kernel_id}.{ctx.result_id or 'direct'}.json"

    def masked(self, ctx: KernelContext) -> KernelContext:
        """`ctx` without its secrets; those are kept for the kernel (nothing is written when none)."""
        data, secrets = split_secrets(ctx.model_dump(mode="json"))
        if not secrets:
            return ctx
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".secrets-")  # 0600
        with os.fdopen(fd, "w") as f:
            json.dump(secrets, f)
        os.replace(tmp, self._path(ctx))
        return KernelContext.model_validate(data)

    def reveal(self, ctx: KernelContext) -> KernelContext:
        """`ctx` with its secrets back (for a stage's spec: memory only, never saved)."""
        try:
            secrets = json.loads(self._path(ctx).read_text())
        except FileNotFoundError:
            return ctx
        return KernelContext.model_validate(join_secrets(ctx.model_dump(mode="json"), secrets))

    def forget(self, ctx: KernelContext) -> None:
        """Remove the secrets of this creation of the kernel."""
        with contextlib.suppress(FileNotFoundError):
            self._path(ctx).unlink()

    def remove(self, kernel_id: str) -> None:
        """Remove every secret kept for the kernel id."""
        for p in self.root.glob(f"{kernel_id}.*.json") if self.root.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def kernels(self, older_than: float) -> set[str]:
        """The kernel ids whose secrets were kept before `older_than` (a Unix time): a creation
        keeps them a moment before its kernel is registered."""
        if not self.root.is_dir():
            return set()
        found = set()
        for p in self.root.glob("*.json"):
            kernel_id = p.name.split(".", 1)[0]
            with contextlib.suppress(FileNotFoundError):
                if is_uuid(kernel_id) and p.stat().st_mtime < older_than:
                    found.add(kernel_id)
        return found
