"""Small walks for the planner's tests: one 8 x 8 tile per tensor, one matmul per step."""

from __future__ import annotations

from igoc.isa.instructions import DType
from igoc.schedule.layer import Access
from igoc.schedule.steps import Matmul


def tile(tensor: str, is_acc: bool = False):
    """The one tile of ``tensor`` (an accumulator's with ``is_acc``)."""
    access = Access(tensor, "rows", DType.F16, 8, 8, 8)
    return (access, is_acc, 0, 0, 8, 8)


def step(acc: str, a: str, b: str) -> tuple[Matmul, ...]:
    """A step of one matmul, ``acc += a . b``."""
    return (Matmul("y", tile(acc, True), tile(a), tile(b), 8, 8, 8),)


def count(plan, kind: str, tensor: str) -> int:
    """How many ``kind`` movements (``load``, ``reload``) of ``tensor``'s tile come before steps."""
    return sum(
        1
        for actions in plan.before
        for action in actions
        if action.kind == kind and action.residency.key[0].tensor == tensor
    )


def loads_of(plan, tensor: str) -> int:
    """How many times ``tensor``'s tile is loaded."""
    return count(plan, "load", tensor)


def tile_bytes(key, is_acc: bool) -> int:
    """128 bytes an input tile (f16), 256 an accumulator (f32)."""
    return key[4] * key[5] * (4 if is_acc else 2)
