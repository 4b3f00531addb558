"""Requests and responses of the agent's own operations: ping, gather_hwinfo, update_scaling_group, shutdown."""

from __future__ import annotations

import signal
from typing import Literal

from pydantic import BaseModel, StrictStr, field_validator

from contract.common import Request, ScalingGroup


class PingReq(Request):
    msg: StrictStr


class UpdateScalingGroupReq(Request):
    scaling_group: ScalingGroup


class HardwareMetadata(BaseModel):
    status: Literal["healthy", "degraded", "offline", "unavailable"]
    status_info: str | None = None
    metadata: dict[str, str] = {}


class ShutdownReq(Request):
    stop_signal: StrictStr | int = "SIGTERM"

    @field_validator("stop_signal")
    @classmethod
    def _known_signal(cls, v: str | int) -> str:
        try:
            return (signal.Signals[v] if isinstance(v, str) else signal.Signals(v)).name
        except (KeyError, ValueError):
            raise ValueError(f"unknown signal {v!r}") from None
