"""The X-Registry-Auth header Docker wants for a registry's credentials."""

from __future__ import annotations

from docker.auth import encode_header

from contract.images import ImageRegistry


def auth_headers(registry: ImageRegistry | None, server: str | None) -> dict[str, str]:
    """Headers carrying `registry`'s username and password (none when it has no username)."""
    if registry is None or registry.username is None:
        return {}
    auth = {"username": registry.username, "password": registry.password or "", "serveraddress": server or ""}
    return {"X-Registry-Auth": encode_header(auth).decode("ascii")}
