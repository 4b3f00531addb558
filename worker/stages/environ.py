"""Environ: the kernel's environment variables (user's, cluster facts, ids, allocation facts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from worker.stages.base import Provisioner


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
    persistent_paths: list[str] = field(default_factory=list)


class Environ(BaseModel):
    environ: dict[str, str]


class EnvironProvisioner(Provisioner[EnvironSpec, Environ]):
    name = "environ"
    resource_type = Environ

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
        env["MOCK_VISIBLE_DEVICES"] = ",".join(spec.mock_devices)
        env["GPU_COUNT"] = env["N_GPUS"] = str(len(spec.mock_devices))
        return Environ(environ=env)
