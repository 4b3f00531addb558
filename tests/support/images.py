"""Helpers of the image tests (their fixtures are in tests/integration/images/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.registry import PASSWORD, USERNAME, LocalRegistry

MakeImage = Callable[..., str]


def registry_conf(registry: LocalRegistry, password: str = PASSWORD) -> dict[str, str]:
    """An ImageRegistry for the test registry (the right password unless told otherwise)."""
    return {"name": registry.host, "url": registry.url, "username": USERNAME, "password": password}
