"""`Stage`: one step of kernel creation, declared once.

A stage says what it needs from earlier stages (`requires`: fact names), what it contributes
(`provides`), and which chain step runs it (`step`); `spec(ctx)` builds its input from the shared
context, `setup(spec)` makes its thing and returns a JSON model of it (recorded in the context),
`teardown(resource)` unmakes it, and `leftover(ctx)` says what a setup cut short by a crash may
have left, so it can be torn down too. Nothing else about a stage lives anywhere else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from worker.pipeline.context import KernelContext

SpecT = TypeVar("SpecT")
ResT = TypeVar("ResT", bound=BaseModel)

Step = Literal["provision", "start"]  # the creation chain's two steps; `start` holds a creation slot
STEPS: tuple[Step, ...] = ("provision", "start")

# Every concrete stage class by name, so a saved context's resources can be read back by type.
STAGE_CLASSES: dict[str, type[Stage[Any, Any]]] = {}


class Stage(ABC, Generic[SpecT, ResT]):
    """One step of kernel creation. `setup` is safe to run twice for the same kernel and leaves
    nothing behind when it raises; `teardown` is safe when setup never ran or already was undone."""

    name: ClassVar[str]
    resource_type: ClassVar[type[BaseModel]]
    step: ClassVar[Step] = "provision"
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            STAGE_CLASSES[cls.name] = cls

    @abstractmethod
    def spec(self, ctx: KernelContext) -> SpecT:
        """This stage's input, from the kernel's context (only what earlier stages recorded)."""

    @abstractmethod
    def setup(self, spec: SpecT) -> ResT: ...

    def teardown(self, resource: ResT) -> None:
        """Undo `setup`; the default is for stages that only compute values."""

    def leftover(self, ctx: KernelContext) -> ResT | None:
        """What a setup that never got recorded (a crash mid-stage) may have made, to tear it down;
        None when such a setup leaves nothing."""
        return None


class Nothing(BaseModel):
    """The resource of a stage that only checks or computes."""
