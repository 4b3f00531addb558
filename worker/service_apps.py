"""Service apps in a kernel (start_service / shutdown_service), run by the kernel's runner.

A service must be declared in the image's `ai.backend.service-ports` label (the creation pipeline
records it, with its published host ports, in the kernel's record); runner/services.py finds
its command.
"""

from __future__ import annotations

import logging
from typing import Any

from contract.execution import ShutdownServiceReq, StartServiceReq
from worker.execution import explain_unreachable, runner_of
from worker.host import Host
from worker.runner_client import RunnerUnavailable

log = logging.getLogger(__name__)

START_REPLY_TIMEOUT = 35.0  # the runner waits up to 30 s for the service's port


def start(h: Host, req: StartServiceReq) -> dict[str, Any]:
    """`{"status": "started" | "running" | "failed", "error"?, "host_ports"?}`."""
    record = h.registry.get(req.kernel_id)
    port = next((p for p in record.service_ports if p.get("name") == req.service), None)
    if port is None:
        return {"status": "failed", "error": f"invalid service name: {req.service}"}
    try:
        reply = runner_of(h, record).request(
            "start-service", timeout=START_REPLY_TIMEOUT, name=req.service, ports=port["container_ports"],
            protocol=port.get("protocol", "tcp"), opts=req.opts)
    except RunnerUnavailable as e:
        raise explain_unreachable(h, record, e) from None
    reply.pop("ok", None)
    if reply.get("status") in ("started", "running"):
        reply["host_ports"] = port.get("host_ports", [])
    return reply


def shutdown(h: Host, req: ShutdownServiceReq) -> None:
    """Stop the service; every failure (unknown kernel, service not running) is logged and ignored."""
    try:
        record = h.registry.get(req.kernel_id)
        reply = runner_of(h, record).request("shutdown-service", timeout=15.0, name=req.service)
        log.info("service %s in kernel %s: %s", req.service, req.kernel_id, reply.get("status"))
    except Exception:
        log.exception("unhandled exception while shutting down service app")
