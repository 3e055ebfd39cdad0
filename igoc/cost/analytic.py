"""Analytic tile sizes: the tiler of the paper's baseline, and of IGO on the paper's footing.

The paper's baseline takes its tiles from "earlier studies" (its [43]: Moon et al.,
TPDS 2022, analytic tile sizes for output-stationary arrays). Its authors' public
simulator, mNPUsim (github casys-kaist/mNPUsim at b0f3c14,
``software_layer/software_gemm.cpp`` lines 11-83, ``gemm_translation``), computes them
so for a GEMM ``[M x K] . [K x N]`` on an ``R x C`` array with ``S`` elements of SPM,
a tile's operands in half of it (the tile budgets "should be set to half of sram size
for double buffering", ``arch_config/README.md`` line 12; line 16 of the source):

- ``M_t = M`` (the rows of the output whole);
- ``K_t`` (the reduction) and ``N_t = C . K_t`` (the other output dimension) the
  largest whose tile fits: ``M.K_t + K_t.N_t + M.N_t = S/2``, that is
  ``K_t = (sqrt(2CS + (1+C)^2 M^2) - (1+C) M) / 2C``;
- then, as ``K_t`` and ``N_t`` are whole numbers, ``N_t`` grown to fill what is
  left, and if ``N_t`` reaches ``N``, ``K_t`` grown likewise, from the three operands'
  budgets pooled (``SUM_TILING``, lines 34-41). mNPUsim gained that rule after the
  paper (added switched off on 2023-11-28, commit 89f6a7d; on since 2025-12-11,
  0b2e48e): the paper's simulator may have filled less.

mNPUsim runs the tiles with the reduction chunk outside the output chunk (each
reduction chunk writes a partial output). Read as a rule, the formula keeps one
output dimension whole and ties the other to the reduction by the array's side.

What igoc does where the paper and mNPUsim are silent (each a choice a competent
implementation of that description makes, written down):

- **Which output dimension is whole.** mNPUsim feeds its GEMMs so that the whole
  one is small (the batch rows of a fully connected layer; for an im2col
  convolution it makes the output channels the rows). igoc's frame fixes which
  dimension is a matmul's rows, so both choices are members of the family: the
  rows whole (C ties the columns to the reduction) and the columns whole (R ties
  the rows).
- **The loop order.** mNPUsim's (whole, reduction, other), and the same tiles with
  the reduction innermost, which keeps each output tile in SPM until it is final
  instead of spilling a partial sum per reduction chunk.
- **Element widths.** igoc's accumulators are ``acc_bytes`` wide, its operands
  ``element_bytes``: the half-SPM condition is counted in bytes.
- **Fit.** When the whole dimension is so large that even the smallest chunks beside
  it (a reduction chunk of 1, the tied dimension one array side) overflow half the
  SPM, it is halved until they fit; and if the planner cannot
  place two steps (double buffering) in the SPM for fragmentation, the family is
  computed again for a budget an eighth smaller.
- **A fused step** (dX and dW at each point of one walk: the paper's dX-major,
  dW-major and other fused orders) holds five tiles (dY, W, X and both
  accumulators) in half the SPM. Its family applies the same rule to the fused
  step: one dimension whole, and the two others tied as one of the two
  gradients' own rules ties them (its other output dimension the array's side
  times its reduction chunk) — four members.

- **A balanced member.** Beside the members with one dimension whole, the family
  has one with no dimension whole: every dimension the same multiple of the
  array's side along it, as large as fills the budget. [43]'s rule assumes the
  whole dimension is the small one; where all three are large (a late
  convolution's im2col frame), this member is what a competent implementation
  falls back to, and leaving it out would make the baseline a strawman.
- **Only-interleaving** (dX and dW zipped step by step, each in its own loop order):
  each GEMM takes its own member, in a quarter of the SPM (the two steps of the
  pair share the half).

The cost model picks the member of the family that it estimates fastest (the same
estimate for the baseline's GEMMs as for IGO's orders), so no member that a
simple calculation shows to be poor is ever taken.
"""

from __future__ import annotations

from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES
from igoc.schedule.steps import Tiling


def step_footprint(sizes: dict[str, int], computations, elem: int, acc: int) -> int:
    """Bytes of the distinct tiles of one step (inputs ``elem`` wide, accumulators ``acc``)."""
    roles: dict[str, bool] = {}
    for name in computations:
        comp = COMPUTATIONS[name]
        roles.setdefault(comp.a, False)
        roles.setdefault(comp.b, False)
        roles[comp.acc] = True
    total = 0
    for role, is_acc in roles.items():
        r, c = ROLE_INDICES[role]
        total += sizes[r] * sizes[c] * (acc if is_acc else elem)
    return total


def _largest(lo: int, hi: int, fits) -> int:
    """The largest value in ``[lo, hi]`` for which ``fits`` holds (``fits(lo)`` assumed)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def fill(
    dims: dict[str, int],
    computations,
    whole: str,
    base: str,
    other: str,
    ratio: int,
    elem: int,
    acc: int,
    budget: int,
) -> Tiling | None:
    """One member of the family: ``whole`` whole, ``other = ratio * base``, the step filling
    ``budget`` bytes; then ``other`` grown to fill what is left, then ``base`` (as mNPUsim's
    ``SUM_TILING`` does). None if not even unit tiles fit."""

    def size(b: int, o: int, w: int) -> int:
        return step_footprint({whole: w, base: b, other: o}, computations, elem, acc)

    w = dims[whole]
    while size(1, min(dims[other], ratio), w) > budget:  # the smallest tied chunks
        if w == 1:
            return None
        w = max(1, w // 2)
    b = _largest(1, dims[base], lambda v: size(v, min(dims[other], ratio * v), w) <= budget)
    o = min(dims[other], ratio * b)
    o = _largest(o, dims[other], lambda v: size(b, v, w) <= budget)
    b = _largest(b, dims[base], lambda v: size(v, o, w) <= budget)
    sizes = {whole: w, base: b, other: o}
    return Tiling(sizes["i"], sizes["j"], sizes["l"])


def balanced(dims, computations, sides: dict[str, int], elem: int, acc: int, budget: int):
    """The member with no dimension whole: every dimension the same multiple of the array's
    side along it (``sides``), as large as fills ``budget``."""

    def sizes(a: int) -> dict[str, int]:
        return {d: min(dims[d], sides[d] * a) for d in "ijl"}

    if step_footprint(sizes(1), computations, elem, acc) > budget:
        return None
    top = max(-(-dims[d] // sides[d]) for d in "ijl")
    a = _largest(1, top, lambda v: step_footprint(sizes(v), computations, elem, acc) <= budget)
    s = sizes(a)
    return Tiling(s["i"], s["j"], s["l"])


def gemm_family(
    dims: dict[str, int], computation: str, rows: int, cols: int, elem: int, acc: int, budget: int
) -> list[tuple[Tiling, str]]:
    """The (tiling, loop order) members of the family for one GEMM."""
    comp = COMPUTATIONS[computation]
    r_idx, c_idx = ROLE_INDICES[comp.acc]
    red = comp.reduction
    out: list[tuple[Tiling, str]] = []
    for whole, other, ratio in ((r_idx, c_idx, cols), (c_idx, r_idx, rows)):
        tiling = fill(dims, (computation,), whole, red, other, ratio, elem, acc, budget)
        if tiling is None:
            continue
        for loop in (whole + red + other, whole + other + red):
            if (tiling, loop) not in out:
                out.append((tiling, loop))
    sides = {r_idx: rows, c_idx: cols, red: rows}
    tiling = balanced(dims, (computation,), sides, elem, acc, budget)
    if tiling is not None:
        loop = r_idx + c_idx + red
        if (tiling, loop) not in out:
            out.append((tiling, loop))
    return out


FUSED_RULES = (
    ("i", "j", "l", "cols"),  # M whole; dX's rule: its columns (K) = C x its reduction (N)
    ("l", "j", "i", "rows"),  # K whole; dX's rule: its rows (M) = R x its reduction (N)
    ("l", "i", "j", "cols"),  # K whole; dW's rule: its columns (N) = C x its reduction (M)
    ("j", "i", "l", "rows"),  # N whole; dW's rule: its rows (K) = R x its reduction (M)
)
"""The members of a fused step's family: (whole, reduction chunk, tied dimension, side)."""


def fused_family(
    dims: dict[str, int], rows: int, cols: int, elem: int, acc: int, budget: int
) -> list[Tiling]:
    """The tilings of the family for a fused dX + dW step."""
    side = {"rows": rows, "cols": cols}
    out: list[Tiling] = []
    for whole, base, other, which in FUSED_RULES:
        tiling = fill(dims, ("dx", "dw"), whole, base, other, side[which], elem, acc, budget)
        if tiling is not None and tiling not in out:
            out.append(tiling)
    tiling = balanced(dims, ("dx", "dw"), {"i": rows, "j": cols, "l": rows}, elem, acc, budget)
    if tiling is not None and tiling not in out:
        out.append(tiling)
    return out
