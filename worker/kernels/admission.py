"""What a manager may not ask of a creation: what would undo the kernels' hardening.

Checked in `plan`, before anything is made on the host (reads only: the filesystem, Docker, the
state database), each refusal an InvalidInput (ValueError) naming the field:
- uid, main_gid or a supplementary gid 0, unless `allow_root_kernels`;
- a vfolder host path not strictly below `vfolder_roots`, or reached through a link;
- a network this agent's create_local_network did not make, or one another session's kernels use.
The stages check the paths and networks again when they use them (the binding is taken there, in
one transaction), so what changes after this check is refused there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from contract.common import NetworkName
from contract.errors import InvalidInput, NetworkError
from contract.kernels import CreateKernelsReq, KernelCreationConfig
from worker import networks
from worker.vfolders import VFolderRefused, resolve_host_path

if TYPE_CHECKING:
    from worker.host import Host

_network_name = TypeAdapter(NetworkName)


def check_creation_input(h: Host, req: CreateKernelsReq) -> None:
    """InvalidInput naming the first field of `req` that would undo the hardening."""
    shared = req.raw_cluster_info.network_config.get("network_name")
    if shared is not None:
        _check_network(h, req, "raw_cluster_info.network_config.network_name", shared)
    for i, config in enumerate(req.raw_configs):
        _check_ids(h, config, f"raw_configs.{i}")
        for j, mount in enumerate(config.mounts):
            try:
                resolve_host_path(mount.host_path, h.settings.vfolder_roots)
            except VFolderRefused as e:
                raise InvalidInput(f"raw_configs.{i}.mounts.{j}.host_path: {e}") from None
        if config.network_id is not None:
            _check_network(h, req, f"raw_configs.{i}.network_id", config.network_id)


def _check_ids(h: Host, config: KernelCreationConfig, where: str) -> None:
    if h.settings.allow_root_kernels:
        return
    ids = {"uid": config.uid, "main_gid": config.main_gid,
           **{f"supplementary_gids.{k}": g for k, g in enumerate(config.supplementary_gids)}}
    for field, value in ids.items():
        if value == 0:
            raise InvalidInput(f"{where}.{field}: 0 (root) is refused (setting allow_root_kernels)")


def _check_network(h: Host, req: CreateKernelsReq, field: str, name: object) -> None:
    try:
        valid = _network_name.validate_python(name)
        networks.session_network(h.docker, valid, h.settings.id)
    except ValidationError:
        raise InvalidInput(f"{field}: {name!r} is not a network name") from None
    except NetworkError as e:
        raise InvalidInput(f"{field}: {e}") from None
    other = h.network_bindings.other_session(valid, req.raw_session_id)
    if other is not None:
        raise InvalidInput(f"{field}: network {valid!r} belongs to session {other}, whose kernels use it")
