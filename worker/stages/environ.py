"""Environ: the kernel's environment variables (user's, cluster facts, ids, allocation facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from worker.inference.service import served_models
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.stages.resource import ResourceStage


@dataclass(frozen=True)
class EnvironSpec:
    user_environ: dict[str, str]
    kernel_id: str
    session_id: str
    uid: int
    gid: int
    supplementary_gids: list[int]
    cluster_role: str
    cluster_idx: int
    cluster_hostname: str
    cluster_size: int
    cores: int
    mock_devices: list[str] = field(default_factory=list)
    cuda_devices: list[str] = field(default_factory=list)
    persistent_paths: list[str] = field(default_factory=list)
    model: tuple[str, str] | None = None  # an inference kernel's (first) model: name and path


class Environ(BaseModel):
    environ: dict[str, str] = {}


class EnvironStage(Stage[EnvironSpec, Environ]):
    name = "environ"
    resource_type = Environ
    requires = ("allocation",)
    provides = ("environ",)

    def spec(self, ctx: KernelContext) -> EnvironSpec:
        c = ctx.kernel_config
        alloc = ctx.output(ResourceStage)
        return EnvironSpec(
            user_environ=c.environ, kernel_id=ctx.kernel_id, session_id=ctx.session_id, uid=ctx.uid, gid=ctx.gid,
            supplementary_gids=ctx.supplementary_gids, cluster_role=c.cluster_role, cluster_idx=c.cluster_idx,
            cluster_hostname=c.cluster_hostname, cluster_size=ctx.cluster_info.size, cores=len(alloc.cores),
            mock_devices=alloc.mock_devices, cuda_devices=alloc.cuda_devices,
            persistent_paths=[m.kernel_path for m in c.mounts],
            model=next(((m.name, m.model_path) for m in served_models(c, ctx.internal_data)), None))

    def setup(self, spec: EnvironSpec) -> Environ:
        env = dict(spec.user_environ)
        env.update({
            "LOCAL_USER_ID": str(spec.uid),
            "LOCAL_GROUP_ID": str(spec.gid),
            "HOME": "/home/work",
            "BACKENDAI_KERNEL_ID": spec.kernel_id,
            "BACKENDAI_SESSION_ID": spec.session_id,
            "BACKENDAI_CLUSTER_ROLE": spec.cluster_role,
            "BACKENDAI_CLUSTER_IDX": str(spec.cluster_idx),
            "BACKENDAI_CLUSTER_HOST": spec.cluster_hostname,
            "BACKENDAI_CLUSTER_SIZE": str(spec.cluster_size),
            "BACKENDAI_PERSISTENT_PATHS": ":".join(spec.persistent_paths),
            "OMP_NUM_THREADS": str(spec.cores),
            "N_CPUS": str(spec.cores),
        })
        if spec.supplementary_gids:
            env["ADDITIONAL_GIDS"] = ",".join(map(str, spec.supplementary_gids))
        if spec.model is not None:
            env.setdefault("BACKEND_MODEL_NAME", spec.model[0])
            env["BACKEND_MODEL_PATH"] = spec.model[1]
        env["MOCK_VISIBLE_DEVICES"] = ",".join(spec.mock_devices)
        env["GPU_COUNT"] = env["N_GPUS"] = str(len(spec.cuda_devices) or len(spec.mock_devices))
        return Environ(environ=env)
