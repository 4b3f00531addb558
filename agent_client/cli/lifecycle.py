"""`agentctl kernel list|destroy|restart`: kernels' lifecycle from a shell."""

from __future__ import annotations

import argparse
import time
from typing import Any

from agent_client.cli.execution import NIL_SESSION
from agent_client.client import AgentClient
from contract.errors import KernelNotFound
from contract.kernels import LifecycleReason


def kernels(c: AgentClient) -> list[dict[str, Any]]:
    return list(c.call("list_kernels"))


def find(c: AgentClient, kernel_id: str) -> dict[str, Any] | None:
    return next((k for k in kernels(c) if k["kernel_id"] == kernel_id), None)


def image_ref(canonical: str) -> dict[str, Any]:
    """The ImageRef whose canonical name is `canonical` (`name[:tag]`; the kernel's own image)."""
    name, _, tag = canonical.rpartition(":") if ":" in canonical.rsplit("/", 1)[-1] else (canonical, "", "latest")
    return {"name": name, "tag": tag, "is_local": True}


def kernel_line(k: dict[str, Any]) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(k["created_at"]))
    models = " ".join(f"{m['model_name']}:{'healthy' if m['healthy'] else 'unhealthy'}" for m in k.get("models", []))
    return (f"{k['kernel_id']}  {k['state']:<11} {(k['container_id'] or '-')[:12]:<12}  {since}  {k['image']}"
            + (f"  {models}" if models else ""))


def cmd_list(c: AgentClient, a: argparse.Namespace) -> None:
    found = kernels(c)
    a.out.result(found, "\n".join(kernel_line(k) for k in found))


def cmd_destroy(c: AgentClient, a: argparse.Namespace) -> None:
    session = a.session or (find(c, a.kernel_id) or {}).get("session_id", NIL_SESSION)
    c.call("destroy_kernel", kernel_id=a.kernel_id, session_id=session, reason=a.reason)
    a.out.result({"kernel_id": a.kernel_id, "destroyed": True, "reason": a.reason},
                 f"kernel {a.kernel_id} destroyed ({a.reason})")


def cmd_restart(c: AgentClient, a: argparse.Namespace) -> None:
    k = find(c, a.kernel_id)
    if k is None:
        raise KernelNotFound(a.kernel_id)
    info = c.call("restart_kernel", kernel_id=a.kernel_id, session_id=k["session_id"],
                  kernel_image=image_ref(k["image"]))
    a.out.result(info)


def add_lifecycle_commands(kernel_sub: Any) -> None:
    """Add list, destroy and restart under `agentctl kernel`."""
    ls = kernel_sub.add_parser("list", help="this host's kernels: id, state, container, since, image")
    ls.set_defaults(handler=cmd_list)
    rm = kernel_sub.add_parser("destroy", help="stop and remove a kernel, releasing all it holds")
    rm.add_argument("kernel_id")
    rm.add_argument("--session", help="its session id (default: looked up on the host)")
    rm.add_argument("--reason", default=LifecycleReason.USER_REQUESTED.value,
                    choices=[r.value for r in LifecycleReason], metavar="REASON",
                    help="lifecycle reason in kernel_terminated (default user-requested)")
    rm.set_defaults(handler=cmd_destroy)
    re = kernel_sub.add_parser("restart", help="a new container for the kernel; work files, ports kept")
    re.add_argument("kernel_id")
    re.set_defaults(handler=cmd_restart)
