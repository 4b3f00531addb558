"""Every operation as a Celery task: its name, its request model, and how a client may treat it.

`reads_only`: the result is the caller's data (code output, file contents) and of no use to anyone
else, so a client removes it from the result backend once read. `retry_safe`: sending the task
again with the same arguments cannot do harm (it is idempotent by its ids, or only reads); the
others run users' code or act on whatever runs at the moment, so a retry could do it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from contract.common import Empty
from contract.execution import (
    ExecuteReq,
    GetCompletionsReq,
    ShutdownServiceReq,
    StartServiceReq,
    TriggerBatchExecutionReq,
)
from contract.files import AcceptFileReq, FilePathReq
from contract.images import (
    CheckAndPullReq,
    CommitReq,
    GetCommitStatusReq,
    PullImageReq,
    PurgeImagesTaskReq,
    PushImageReq,
)
from contract.kernels import (
    CreateKernelsReq,
    DestroyKernelReq,
    KernelReq,
    RestartKernelReq,
    SyncKernelRegistryReq,
)
from contract.networks import NetworkReq
from contract.system import PingReq, ShutdownReq, UpdateScalingGroupReq


@dataclass(frozen=True)
class Operation:
    name: str  # the Celery task name, `agent.<operation>`
    request: type[BaseModel]
    retry_safe: bool = True
    reads_only: bool = False

    @property
    def short_name(self) -> str:
        """The spec's name of the operation (`ping` for `agent.ping`)."""
        return self.name.removeprefix("agent.")


# system
PING = Operation("agent.ping", PingReq, reads_only=True)
GATHER_HWINFO = Operation("agent.gather_hwinfo", Empty)
UPDATE_SCALING_GROUP = Operation("agent.update_scaling_group", UpdateScalingGroupReq)
SHUTDOWN = Operation("agent.shutdown", ShutdownReq, retry_safe=False)
# networks
CREATE_LOCAL_NETWORK = Operation("agent.create_local_network", NetworkReq)
DESTROY_LOCAL_NETWORK = Operation("agent.destroy_local_network", NetworkReq)
# kernels
CREATE_KERNELS = Operation("agent.create_kernels", CreateKernelsReq)
DESTROY_KERNEL = Operation("agent.destroy_kernel", DestroyKernelReq)
RESTART_KERNEL = Operation("agent.restart_kernel", RestartKernelReq)
SYNC_KERNEL_REGISTRY = Operation("agent.sync_kernel_registry", SyncKernelRegistryReq)
LIST_KERNELS = Operation("agent.list_kernels", Empty)
DESCRIBE_PIPELINE = Operation("agent.describe_pipeline", Empty)
# execution
EXECUTE = Operation("agent.execute", ExecuteReq, retry_safe=False, reads_only=True)
INTERRUPT_KERNEL = Operation("agent.interrupt_kernel", KernelReq, retry_safe=False)
CANCEL_RUN = Operation("agent.cancel_run", KernelReq, retry_safe=False)
GET_COMPLETIONS = Operation("agent.get_completions", GetCompletionsReq, reads_only=True)
PING_KERNEL = Operation("agent.ping_kernel", KernelReq, reads_only=True)
GET_LOGS = Operation("agent.get_logs", KernelReq, reads_only=True)
START_SERVICE = Operation("agent.start_service", StartServiceReq)
SHUTDOWN_SERVICE = Operation("agent.shutdown_service", ShutdownServiceReq)
TRIGGER_BATCH_EXECUTION = Operation("agent.trigger_batch_execution", TriggerBatchExecutionReq, retry_safe=False)
RUN_BATCH_EXECUTION = Operation("agent.run_batch_execution", TriggerBatchExecutionReq, retry_safe=False)
# files
ACCEPT_FILE = Operation("agent.accept_file", AcceptFileReq)
DOWNLOAD_FILE = Operation("agent.download_file", FilePathReq, reads_only=True)
DOWNLOAD_SINGLE = Operation("agent.download_single", FilePathReq, reads_only=True)
LIST_FILES = Operation("agent.list_files", FilePathReq, reads_only=True)
# images
CHECK_AND_PULL = Operation("agent.check_and_pull", CheckAndPullReq)
PULL_IMAGE = Operation("agent.pull_image", PullImageReq)
PUSH_IMAGE = Operation("agent.push_image", PushImageReq)
PURGE_IMAGES = Operation("agent.purge_images", PurgeImagesTaskReq)
COMMIT = Operation("agent.commit", CommitReq)
GET_COMMIT_STATUS = Operation("agent.get_commit_status", GetCommitStatusReq)

OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    PING, GATHER_HWINFO, UPDATE_SCALING_GROUP, SHUTDOWN, CREATE_LOCAL_NETWORK, DESTROY_LOCAL_NETWORK,
    CREATE_KERNELS, DESTROY_KERNEL, RESTART_KERNEL, SYNC_KERNEL_REGISTRY, LIST_KERNELS, DESCRIBE_PIPELINE, EXECUTE,
    INTERRUPT_KERNEL, CANCEL_RUN, GET_COMPLETIONS, PING_KERNEL, GET_LOGS, START_SERVICE, SHUTDOWN_SERVICE,
    TRIGGER_BATCH_EXECUTION, RUN_BATCH_EXECUTION, ACCEPT_FILE, DOWNLOAD_FILE, DOWNLOAD_SINGLE, LIST_FILES,
    CHECK_AND_PULL, PULL_IMAGE, PUSH_IMAGE, PURGE_IMAGES, COMMIT, GET_COMMIT_STATUS,
)}

# The steps of a creation's chain: internal, sent by agent.create_kernels itself (a retry re-sends that).
PROVISION_STEP = "agent.kernels.provision"
START_STEP = "agent.kernels.start"
INTERNAL_STEPS = frozenset({PROVISION_STEP, START_STEP})


def operation(name: str) -> Operation:
    """The operation of task `name` (`agent.ping`) or of its spec name (`ping`); KeyError if none."""
    return OPERATIONS[name if name.startswith("agent.") else f"agent.{name}"]
