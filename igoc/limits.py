"""The sizes igoc accepts, so that any input is refused or compiled in bounded time and memory.

Every limit is far above the paper's largest workload (T5-large with batch 32 on
four cores: tensors of 5.3e8 elements, ops of some 10^5 tile steps, a program of
470,000 instructions) and far below what would overflow a 64-bit count or take
hours. Each is checked where a violation first can be seen, with the location of
the op that breaks it:

- ``MAX_DIM`` (every dimension of a tensor) and ``MAX_ELEMENTS`` (the elements of
  one tensor): by the ``grad`` verifier, when the input is parsed;
- ``MAX_CONV_PARAM`` (stride, padding, dilation and groups of a convolution): by
  the verifier too;
- ``MAX_TILE_STEPS`` (tile steps of one op) and ``MAX_INSTRUCTIONS`` (of a whole
  program): before the first pass runs (:func:`check_work`), by a lower bound on
  the steps that no schedule can go below on the target (one step computes at most
  what its three tiles hold in SPM); the instructions are counted again by
  ``lower-to-npu`` as it builds the program and by ``igoc.isa.program.check_program``.

A leaf of igoc's imports: nothing of igoc at import time (:func:`check_work` reports
through ``igoc.frontend.diagnostics`` when it runs), so that ``isa`` and the
dialects' verifiers can use it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xdsl.ir import Operation

    from igoc.target import Target

MAX_DIM = 1 << 24
"""The largest dimension of a tensor (16,777,216)."""

MAX_ELEMENTS = 1 << 32
"""The most elements of one tensor (4,294,967,296: 8 GiB of f16)."""

MAX_CONV_PARAM = 1 << 24
"""The largest stride, padding, dilation or group count of a convolution."""

MAX_TILE_STEPS = 1 << 22
"""The most tile steps one op may take on the target (4,194,304)."""

MAX_INSTRUCTIONS = 1 << 26
"""The most instructions of a program, all cores together (67,108,864; 2.5 GiB of records)."""


class LimitError(ValueError):
    """A size beyond one of the limits; the message says which and what the limit is."""


def check_shape(role: str, shape: tuple[int, ...] | list[int]) -> None:
    """``MAX_DIM`` and ``MAX_ELEMENTS`` for one tensor (``role`` names it in the message)."""
    for dim in shape:
        if dim > MAX_DIM:
            raise LimitError(
                f"{role} has a dimension of {dim:,}; igoc's limit is {MAX_DIM:,} per dimension"
            )
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise LimitError(
            f"{role} has {count:,} elements; igoc's limit is {MAX_ELEMENTS:,} per tensor"
        )


def check_conv_param(name: str, values: tuple[int, ...] | list[int]) -> None:
    """``MAX_CONV_PARAM`` for a stride, padding, dilation or group count."""
    for value in values:
        if value > MAX_CONV_PARAM:
            raise LimitError(f"{name} of {value:,} is beyond igoc's limit of {MAX_CONV_PARAM:,}")


def max_macs_per_step(target: Target) -> float:
    """The most multiply-accumulates one tile step can do on the target.

    A step holds an ``m x k`` and a ``k x n`` input tile and an ``m x n`` accumulator in
    SPM: ``e*m*k + e*k*n + a*m*n <= S`` (``e``, ``a``: element and accumulator bytes).
    The product of the three terms is ``e*e*a*(m*n*k)^2`` and at most ``(S/3)^3``, so
    ``m*n*k <= sqrt((S/3)^3 / (e*e*a))``.
    """
    e, a, s = target.element_bytes, target.acc_bytes, target.spm_bytes
    return math.sqrt((s / 3) ** 3 / (e * e * a))


def gemm_macs(op: Operation) -> int:
    """The multiply-accumulates of a grad op, over all its GEMMs (0 for other ops)."""
    roles = getattr(op, "ROLES", None)
    if not roles:
        return 0
    shapes = {
        role: tuple(t.get_shape())  # type: ignore[attr-defined]
        for role, t in zip(roles, [*op.operand_types, *op.result_types], strict=False)
        if hasattr(t, "get_shape")
    }
    gemms = 2 if {"dX", "dW"} <= set(shapes) else 1
    weight = shapes.get("W") or shapes.get("dW")
    out = shapes.get("Y") or shapes.get("dY")
    if weight is None or out is None:
        return 0
    if len(weight) == 4 and len(out) == 4:  # conv: N*OH*OW rows, Cout cols, Cin/g*R*S deep
        return gemms * math.prod(out) * math.prod(weight[1:])
    if len(weight) == 2 and len(out) == 2:  # matmul: M x K times K x N
        return gemms * out[0] * out[1] * weight[0]
    return 0


def check_work(module: Operation, target: Target) -> None:
    """``MAX_TILE_STEPS`` per op and ``MAX_INSTRUCTIONS`` per program, from below.

    Raises ``DiagnosticError`` at the first op whose work no schedule on ``target`` can do
    in fewer steps than the limit (or at the op where the program's total passes it).
    """
    from igoc.frontend.diagnostics import error_at

    per_step = max_macs_per_step(target)
    total = 0
    for op in module.walk():
        for region in op.regions:  # a function's arguments: DRAM tensors, used or not
            for arg in region.blocks.first.args if region.blocks else ():
                if hasattr(arg.type, "get_shape"):
                    try:
                        check_shape(f"argument #{arg.index}", tuple(arg.type.get_shape()))
                    except LimitError as err:
                        raise error_at(op, str(err)) from None
        macs = gemm_macs(op)
        if not macs:
            continue
        steps = math.ceil(macs / per_step)
        if steps > MAX_TILE_STEPS:
            raise error_at(
                op,
                f"this op needs at least {steps:,} tile steps on target '{target.name}' "
                f"({macs:,} multiply-accumulates, at most {int(per_step):,} per step in its "
                f"SPM); igoc's limit is {MAX_TILE_STEPS:,} steps per op",
            )
        total += steps
        if total > MAX_INSTRUCTIONS:
            raise error_at(
                op,
                f"the program needs at least {total:,} instructions by this op on target "
                f"'{target.name}'; igoc's limit is {MAX_INSTRUCTIONS:,} per program",
            )
