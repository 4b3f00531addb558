"""The reconciler: the kernel registry against what Docker and the host actually have.

One pass finds (1) RUNNING kernels whose container exited or vanished (a missed Docker event):
cleaned with kernel_terminated; (2) containers labelled with this agent as owner that no kernel
record claims: removed (terminated-unknown-container); (3) leftovers of kernels nobody knows:
allocations and host ports released, scratch and ipc directories removed.

Safe against creations in flight: PREPARING kernels (creation or restart) are never touched,
records and containers younger than `grace` are left for the next pass, and leftovers are listed
*before* the registry is read (a creation adds its record before it allocates or makes anything),
then checked again under the kernel's lock before anything is released.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docker.errors import APIError, NotFound

from contract.common import is_uuid
from contract.kernels import LifecycleReason
from worker.kernels.destroy import announce, clean_dead_kernel
from worker.kernels.locks import kernel_lock
from worker.stages.container import KERNEL_ID_LABEL, OWNER_LABEL, SESSION_ID_LABEL
from worker.state.kernels import KernelRecord, KernelState

if TYPE_CHECKING:
    from worker.host import Host

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    cleaned: list[str] = field(default_factory=list)  # registered kernels whose container was dead or gone
    removed_containers: list[str] = field(default_factory=list)  # containers no record claims
    released: list[str] = field(default_factory=list)  # kernel ids whose leftovers were released

    def __bool__(self) -> bool:
        return bool(self.cleaned or self.removed_containers or self.released)


def _container_state(h: Host, container_id: str | None) -> dict[str, Any] | None:
    if container_id is None:
        return None
    try:
        return dict(h.docker.api.inspect_container(container_id)["State"])
    except NotFound:
        return None


def _check_running(h: Host, rec: KernelRecord, listed: dict[str, dict[str, Any]],
                   report: ReconcileReport) -> None:
    seen = listed.get(rec.container_id or "")
    if seen is not None and seen["State"] in ("running", "paused", "restarting"):
        return
    state = _container_state(h, rec.container_id)  # look again: the listing may be stale
    if state is not None and (state.get("Running") or state.get("Restarting")):
        return
    if state is None:
        done = clean_dead_kernel(h, rec.kernel_id, -1, LifecycleReason.CONTAINER_NOT_FOUND,
                                 "the kernel's container is gone", container_id=rec.container_id)
    else:
        killed = state.get("OOMKilled") and int(state.get("ExitCode", 0)) == 137  # not a user process's OOM kill
        detail = "oom-killed: the container ran out of memory" if killed else None
        done = clean_dead_kernel(h, rec.kernel_id, int(state.get("ExitCode", 255)),
                                 LifecycleReason.SELF_TERMINATED, detail, container_id=rec.container_id)
    if done:
        report.cleaned.append(rec.kernel_id)


def _remove_unknown(h: Host, c: dict[str, Any], report: ReconcileReport) -> None:
    labels = c.get("Labels") or {}
    kernel_id = labels.get(KERNEL_ID_LABEL, "")
    with kernel_lock(kernel_id):
        rec = h.registry.find(kernel_id) if kernel_id else None
        if rec is not None and (rec.state is KernelState.PREPARING or rec.container_id == c["Id"]):
            return  # claimed since the listing
        try:
            h.docker.api.remove_container(c["Id"], force=True, v=True)
        except NotFound:
            return
        except APIError as e:
            log.warning("removing unknown container %s: %s", c["Id"][:12], e)
            return
    report.removed_containers.append(c["Id"])
    if rec is None and kernel_id:
        log.warning("removed container %s of unknown kernel %s", c["Id"][:12], kernel_id)
        announce(h, kernel_id, labels.get(SESSION_ID_LABEL, ""), LifecycleReason.TERMINATED_UNKNOWN_CONTAINER)


def _kernel_dirs(h: Host, older_than: float) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for root in (h.settings.scratch_dir, h.settings.ipc_dir):
        if not root.is_dir():
            continue
        for d in root.iterdir():
            try:
                if is_uuid(d.name) and d.is_dir() and d.stat().st_mtime < older_than:
                    found.setdefault(d.name, []).append(d)
            except FileNotFoundError:
                continue
    return found


def _release_leftovers(h: Host, kernel_id: str, dirs: list[Path], report: ReconcileReport) -> None:
    with kernel_lock(kernel_id):
        if h.registry.find(kernel_id) is not None:
            return  # a creation claimed the id since the listing
        h.allocator.release(kernel_id)
        h.ports.release(kernel_id)
        h.secrets.remove(kernel_id)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    log.warning("released leftovers of unknown kernel %s", kernel_id)
    report.released.append(kernel_id)


def reconcile(h: Host, grace: float) -> ReconcileReport:
    """One pass; `grace` seconds is how old a record, container or directory must be to be acted on."""
    report = ReconcileReport()
    now = time.time()
    # listed before the registry is read: see the module docstring
    leftover_ids = h.allocator.kernels() | h.ports.kernels() | h.secrets.kernels(now - grace)
    dirs = _kernel_dirs(h, now - grace)
    containers = h.docker.api.containers(all=True, filters={"label": f"{OWNER_LABEL}={h.settings.id}"})
    records = {r.kernel_id: r for r in h.registry.all()}

    listed = {c["Id"]: c for c in containers}
    for rec in records.values():
        if rec.state is KernelState.RUNNING and now - rec.created_at >= grace:
            _check_running(h, rec, listed, report)

    claimed = {r.container_id for r in records.values()}
    for c in containers:
        owner = records.get((c.get("Labels") or {}).get(KERNEL_ID_LABEL, ""))
        if c["Id"] in claimed or (owner is not None and owner.state is KernelState.PREPARING):
            continue
        if now - float(c.get("Created", now)) >= grace:
            _remove_unknown(h, c, report)

    for kernel_id in (leftover_ids | set(dirs)) - set(records):
        _release_leftovers(h, kernel_id, dirs.get(kernel_id, []), report)
    return report


class PeriodicReconciler:
    """Runs `reconcile` every `interval` seconds in its own thread (a pass does Docker calls, so it
    stays off the worker's timer, which also drives the heartbeat)."""

    def __init__(self, services: Callable[[], Host], interval: float, grace: float) -> None:
        self._services = services
        self._interval = interval
        self._grace = grace
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                report = reconcile(self._services(), self._grace)
                if report:
                    log.warning("reconciler: %s", report)
            except Exception:
                log.exception("reconciler pass failed")
