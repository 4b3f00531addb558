"""Provisioner and Stage, and running a list of stages with reverse-order teardown."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from worker.stages.context import KernelContext

log = logging.getLogger(__name__)

SpecT = TypeVar("SpecT")
ResT = TypeVar("ResT", bound=BaseModel)


class Provisioner(ABC, Generic[SpecT, ResT]):
    """Makes one kind of thing for a kernel and can unmake it.

    `setup` is safe to run twice for the same kernel and leaves nothing behind when it raises;
    `teardown` is safe when setup never ran or already was torn down.
    """

    name: ClassVar[str]
    resource_type: ClassVar[type[BaseModel]]

    @abstractmethod
    def setup(self, spec: SpecT) -> ResT: ...

    def teardown(self, resource: ResT) -> None:
        """Undo `setup`; the default is for stages that only compute values."""


@dataclass(frozen=True)
class Stage(Generic[SpecT, ResT]):
    """One step of the pipeline: `spec(ctx)` -> provisioner.setup -> `apply(ctx, resource)`."""

    provisioner: Provisioner[SpecT, ResT]
    spec: Callable[[KernelContext], SpecT]
    apply: Callable[[KernelContext, ResT], None] = lambda ctx, res: None

    @property
    def name(self) -> str:
        return self.provisioner.name


def run_stages(stages: Sequence[Stage[Any, Any]], ctx: KernelContext,
               on_done: Callable[[KernelContext], None] = lambda ctx: None) -> None:
    """Set up each stage not yet done, in order, recording its resource in `ctx` (so a redelivered
    step skips what is there). On failure the caller tears down with `teardown_stages`."""
    for stage in stages:
        if stage.name in ctx.done:
            continue
        started = time.perf_counter()
        resource = stage.provisioner.setup(stage.spec(ctx))
        ctx.resources[stage.name] = resource.model_dump(mode="json")
        ctx.done.append(stage.name)
        stage.apply(ctx, resource)
        ctx.timings[stage.name] = round(time.perf_counter() - started, 4)
        on_done(ctx)


def teardown_stages(stages: Sequence[Stage[Any, Any]], ctx: KernelContext) -> list[str]:
    """Tear down every stage recorded as done, in reverse order; returns the errors (logged, never
    raised: one failing teardown must not stop the others)."""
    by_name = {s.name: s for s in stages}
    errors = []
    for name in reversed(list(ctx.done)):
        stage = by_name.get(name)
        if stage is None:
            continue
        prov = stage.provisioner
        try:
            prov.teardown(prov.resource_type.model_validate(ctx.resources.get(name, {})))
        except Exception as e:
            log.exception("teardown of %s for kernel %s failed", name, ctx.kernel_id)
            errors.append(f"{name}: {e}")
        ctx.done.remove(name)
        ctx.resources.pop(name, None)
    return errors


class Nothing(BaseModel):
    """The resource of a stage that only checks or computes."""
