"""Requests of the session bridge network operations."""

from __future__ import annotations

from contract.common import NetworkName, Request


class NetworkReq(Request):
    network_name: NetworkName
