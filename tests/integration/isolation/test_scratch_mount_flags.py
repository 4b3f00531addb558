"""A kernel's scratch is mounted nosuid,nodev: a setuid binary its user makes in /home/work gives
nobody on the host the kernel user's identity; leftover scratch mounts are removed by the reconciler."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from typing import Any

import docker

from agent_client.client import AgentClient
from contract.kernels import ClusterInfo, KernelCreationConfig
from tests.integration.isolation.conftest import run_in
from tests.support.host_state import assert_host_clean
from worker.kernels.reconcile import reconcile
from worker.pipeline.context import KernelContext
from worker.runtime import host
from worker.scratch_mounts import image_path
from worker.stages.scratch import ScratchStage

NOBODY = 65534
MAKE_SETUID = """
import os, shutil
shutil.copy('/usr/bin/id', '/home/work/id')
os.chmod('/home/work/id', 0o4755)
st = os.stat('/home/work/id')
print(st.st_uid, oct(st.st_mode & 0o7777))
print(' '.join(l.split()[5] for l in open('/proc/self/mountinfo') if l.split()[4] == '/home/work'))
"""


def context(kernel_id: str) -> KernelContext:
    h = host()
    config = KernelCreationConfig.model_validate({"image": {"canonical": "x:1"}, "resource_slots": {}})
    return KernelContext(kernel_id=kernel_id, session_id=str(uuid.uuid4()), kernel_config=config,
                         cluster_info=ClusterInfo(), agent_id=h.settings.id, uid=1000, gid=1000,
                         scratch_dir=h.settings.scratch_dir / kernel_id, ipc_dir=h.settings.ipc_dir / kernel_id)


def test_a_setuid_binary_made_in_the_scratch_gains_no_privilege_on_the_host(
        client: AgentClient, kernel: Any) -> None:
    owner_mode, flags = run_in(client, kernel, MAKE_SETUID).splitlines()
    assert owner_mode == "1000 0o4755"  # the kernel's user made a setuid-to-itself binary
    assert "nosuid" in flags.split(",") and "nodev" in flags.split(",")
    work = kernel.work_dir
    st = os.statvfs(work)
    assert st.f_flag & os.ST_NOSUID and st.f_flag & os.ST_NODEV
    # nobody on the host runs it (through an fd: the var dir is not nobody's to walk)
    fd = os.open(work / "id", os.O_PATH | os.O_NOFOLLOW)
    try:
        out = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                              f"/proc/self/fd/{fd}", "-u"], pass_fds=(fd,), capture_output=True, text=True, check=True)
    finally:
        os.close(fd)
    assert out.stdout.strip() == str(NOBODY)  # not 1000: the setuid bit did nothing


def test_scratch_mounts_and_hostfiles_a_crash_left_are_removed_by_the_reconciler(
        docker_client: docker.DockerClient) -> None:
    h = host()
    past = time.time() - 60
    orphans = {"dir": str(uuid.uuid4()), "hostfile": str(uuid.uuid4())}
    for kind, kernel_id in orphans.items():
        root = h.settings.scratch_dir / kernel_id
        stage = ScratchStage(kind, 16 << 20)  # as a creation cut short by a crash left it
        stage.setup(stage.spec(context(kernel_id)))
        os.utime(root, (past, past))
        if kind == "hostfile":
            os.utime(image_path(root), (past, past))
    h.network_bindings.bind("some-network", str(uuid.uuid4()), orphans["dir"])
    report = reconcile(h, grace=0)
    for kernel_id in orphans.values():
        assert kernel_id in report.released
        assert_host_clean(kernel_id, docker_client)
