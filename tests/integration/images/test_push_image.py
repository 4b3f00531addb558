"""push_image against a real registry with htpasswd auth (and a throttled link for the timeout)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agent_client.client import AgentClient
from agent_client.images import push_image
from tests.support.images import MakeImage, registry_conf
from tests.support.registry import PASSWORD, LocalRegistry
from tests.support.slow_proxy import SlowProxy


def image_ref(registry_host: str, project: str, name: str, tag: str) -> dict[str, object]:
    return {
        "name": name,
        "project": project,
        "tag": tag,
        "registry": registry_host,
        "architecture": "x86_64",
        "is_local": False,
    }


@pytest.fixture
def slow_link(registry: LocalRegistry) -> Iterator[SlowProxy]:
    proxy = SlowProxy(registry.port, rate=256 << 10)
    yield proxy
    proxy.close()


def test_push_with_credentials_puts_the_image_in_the_registry(
    client: AgentClient, registry: LocalRegistry, make_image: MakeImage, unique: str
) -> None:
    ref = image_ref(registry.host, "myproject", f"myimage-{unique}", "latest")
    make_image(f"{registry.host}/myproject/myimage-{unique}:latest")
    result = push_image(client, ref, registry_conf(registry), timeout=60)
    assert result.get(timeout=60) is None
    assert registry.tags(f"myproject/myimage-{unique}") == ["latest"]
    # The password shows neither in what Flower is sent nor in the stored result.
    meta = client.app.backend.get_task_meta(result.id)
    assert PASSWORD not in repr(meta) and meta["kwargs"]["registry_conf"]["username"]


def test_push_of_a_local_image_does_nothing(
    client: AgentClient, registry: LocalRegistry, unique: str
) -> None:
    ref = {
        "name": f"mylocalimg-{unique}",
        "project": None,
        "tag": "test",
        "registry": "local",
        "architecture": "x86_64",
        "is_local": True,
    }
    before = registry.catalog()
    assert push_image(client, ref, registry_conf(registry)).get(timeout=30) is None
    assert registry.catalog() == before


def test_push_with_wrong_password_raises_and_pushes_nothing(
    client: AgentClient, registry: LocalRegistry, make_image: MakeImage, unique: str
) -> None:
    ref = image_ref(registry.host, "secureproject", f"imageauthfail-{unique}", "1.0")
    make_image(f"{registry.host}/secureproject/imageauthfail-{unique}:1.0")
    with pytest.raises(RuntimeError, match="unauthorized") as err:
        push_image(client, ref, registry_conf(registry, password="wrong_password")).get(timeout=60)
    assert "wrong_password" not in str(err.value)
    assert registry.tags(f"secureproject/imageauthfail-{unique}") == []


def test_push_past_its_timeout_raises_and_leaves_no_image_in_the_registry(
    client: AgentClient, registry: LocalRegistry, slow_link: SlowProxy, make_image: MakeImage, unique: str
) -> None:
    ref = image_ref(slow_link.host, "testproject", f"verylargeimage-{unique}", "1.0")
    make_image(
        f"{slow_link.host}/testproject/verylargeimage-{unique}:1.0", size=4 << 20
    )  # ~16 s at 256 KiB/s
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"timeout \(s:1\)"):
        push_image(client, ref, registry_conf(registry), timeout=1.0).get(timeout=60)
    assert time.monotonic() - started < 10
    time.sleep(1)  # the daemon cancelled the push when the agent hung up: nothing completes later
    assert registry.tags(f"testproject/verylargeimage-{unique}") == []


def test_push_of_an_image_not_on_the_host_raises(
    client: AgentClient, registry: LocalRegistry, unique: str
) -> None:
    ref = image_ref(registry.host, "p", f"absent-{unique}", "1")
    with pytest.raises(RuntimeError, match="not on this host"):
        push_image(client, ref, registry_conf(registry)).get(timeout=30)


def test_push_refuses_an_invalid_reference(client: AgentClient, registry: LocalRegistry) -> None:
    ref = image_ref(registry.host, "p", "Bad/../Name", "1")
    with pytest.raises(ValueError, match=r"image_ref\.name"):
        push_image(client, ref, registry_conf(registry)).get(timeout=30)
