"""Manager input that would undo the hardening is refused in plan, naming the field."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from docker.errors import NotFound

from contract.errors import InvalidInput
from contract.kernels import CreateKernelsReq
from worker.config import AgentSettings
from worker.kernels.admission import check_creation_input
from worker.state.db import StateDB
from worker.state.network_bindings import NetworkBindings

AGENT = "test-admission"
NETWORKS = {
    "ours": {"Name": "ours", "Labels": {"ai.backend.cluster-network": "1", "ai.backend.owner": AGENT}},
    "others": {"Name": "others", "Labels": {"ai.backend.cluster-network": "1", "ai.backend.owner": "another"}},
    "plain": {"Name": "plain", "Labels": {}},
}


class FakeAPI:
    def inspect_network(self, name: str) -> dict[str, Any]:
        if name not in NETWORKS:
            raise NotFound(name)
        return NETWORKS[name]


@pytest.fixture
def host(tmp_path: Path) -> SimpleNamespace:
    (tmp_path / "vf" / "user1").mkdir(parents=True)
    settings = AgentSettings(id=AGENT, var_dir=tmp_path, vfolder_roots=[tmp_path / "vf"])
    return SimpleNamespace(settings=settings, docker=SimpleNamespace(api=FakeAPI()),
                           network_bindings=NetworkBindings(StateDB(tmp_path / "agent.db")))


def request(session: str | None = None, cluster: dict[str, Any] | None = None, **config: Any) -> CreateKernelsReq:
    return CreateKernelsReq.model_validate({
        "raw_session_id": session or str(uuid.uuid4()), "raw_kernel_ids": [str(uuid.uuid4())],
        "raw_configs": [{"image": {"canonical": "x:1"}, "resource_slots": {"cpu": 1, "mem": "256m"}, **config}],
        "raw_cluster_info": cluster or {}})


@pytest.mark.parametrize(("config", "field"), [
    ({"uid": 0}, "raw_configs.0.uid"),
    ({"main_gid": 0}, "raw_configs.0.main_gid"),
    ({"supplementary_gids": [1000, 0]}, "raw_configs.0.supplementary_gids.1"),
])
def test_root_ids_are_refused_unless_allowed(host: SimpleNamespace, config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field}: 0 \(root\) is refused"):
        check_creation_input(host, request(**config))
    host.settings = host.settings.model_copy(update={"allow_root_kernels": True})
    check_creation_input(host, request(**config))


def test_ordinary_ids_and_a_vfolder_below_a_root_pass(host: SimpleNamespace) -> None:
    root = host.settings.vfolder_roots[0]
    check_creation_input(host, request(uid=1001, main_gid=1001, supplementary_gids=[44],
                                       mounts=[{"name": "v", "host_path": f"{root}/user1", "kernel_path": "/v"}]))


@pytest.mark.parametrize("path", ["/", "/etc", "{root}/../agent.db", "{root}"])
def test_vfolder_host_paths_outside_the_roots_are_refused(host: SimpleNamespace, path: str) -> None:
    root = host.settings.vfolder_roots[0]
    ok = {"name": "ok", "host_path": f"{root}/user1", "kernel_path": "/ok"}
    bad = {"name": "bad", "host_path": path.format(root=root), "kernel_path": "/bad"}
    with pytest.raises(InvalidInput, match=r"^raw_configs\.0\.mounts\.1\.host_path: "):
        check_creation_input(host, request(mounts=[ok, bad]))


@pytest.mark.parametrize(("name", "why"), [
    ("others", "not made by this agent"), ("plain", "not made by this agent"), ("missing", "does not exist")])
def test_networks_this_agent_did_not_make_are_refused_in_either_field(
        host: SimpleNamespace, name: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^raw_configs\.0\.network_id: .*{why}"):
        check_creation_input(host, request(network_id=name))
    with pytest.raises(InvalidInput, match=rf"^raw_cluster_info\.network_config\.network_name: .*{why}"):
        check_creation_input(host, request(cluster={"network_config": {"network_name": name}}))


def test_a_network_name_that_is_not_a_name_is_refused(host: SimpleNamespace) -> None:
    with pytest.raises(InvalidInput, match=r"^raw_cluster_info\.network_config\.network_name: .*not a network name"):
        check_creation_input(host, request(cluster={"network_config": {"network_name": ["ours"]}}))


def test_a_network_another_sessions_kernels_use_is_refused(host: SimpleNamespace) -> None:
    session_a = str(uuid.uuid4())
    host.network_bindings.bind("ours", session_a, "kernel-a")
    check_creation_input(host, request(session=session_a, network_id="ours"))  # the same session: fine
    with pytest.raises(InvalidInput, match=r"^raw_configs\.0\.network_id: network 'ours' belongs to session"):
        check_creation_input(host, request(network_id="ours"))
    host.network_bindings.release("kernel-a")
    check_creation_input(host, request(network_id="ours"))
