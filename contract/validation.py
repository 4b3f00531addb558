"""Turning a request into its model, with one error message naming every bad field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contract.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(what: str, err: ValidationError) -> str:
    """`<what>: field.sub: message; ...` naming every bad field."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(arguments)"
        parts.append(f"{where}: {e['msg']}")
    return f"{what}: " + "; ".join(parts)


def parse(model: type[M], data: Any, what: str) -> M:
    """`data` validated as `model`; InvalidInput (a ValueError) naming every bad field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(describe_validation_error(what, e)) from None
