"""Tile orders: from a layer, tile sizes and a loop order to the ordered list of tile steps.

A *step* is what the array does between two points of the tile walk: one
matmul per computation scheduled at that point. Each matmul names its three
tiles by key, ``(access, is_acc, row0, col0, rows, cols)`` — the block of a
DRAM view (``layer.Access``) that the tile holds, and whether it is an
accumulator — so two schedules, or two ops, that cut the same matrix the same
way name the same tiles, and the SPM planner sees the reuse.

A ``Segment`` walks one box of the (i, j, l) tile space in one loop order and
runs its computations at every point; a ``Phase`` runs one segment, or zips
several step by step (the paper's *only-interleaving* order zips dX's and dW's
own orders); a schedule is a sequence of phases run one after another.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from igoc.schedule.layer import COMPUTATIONS, INDEX_DIM, ROLE_INDICES, Access, LayerGemm

PERMUTATIONS = ("ijl", "ilj", "jil", "jli", "lij", "lji")

TileKey = tuple[Access, bool, int, int, int, int]  # access, is_acc, row0, col0, rows, cols


@dataclass(frozen=True)
class Tiling:
    """Tile sizes along M, N and K."""

    m: int
    n: int
    k: int

    def size(self, index: str) -> int:
        """The tile size along a loop index's dimension."""
        return getattr(self, INDEX_DIM[index])

    def __str__(self) -> str:
        return f"{self.m}x{self.n}x{self.k}"


@dataclass(frozen=True)
class Box:
    """A range of the frame along each dimension, in elements: ``[lo, hi)``."""

    m: tuple[int, int]
    n: tuple[int, int]
    k: tuple[int, int]

    @staticmethod
    def whole(layer: LayerGemm) -> Box:
        """The layer's entire frame."""
        return Box((0, layer.m), (0, layer.n), (0, layer.k))

    def range(self, index: str) -> tuple[int, int]:
        """The range a loop index walks."""
        return getattr(self, INDEX_DIM[index])


class Matmul(NamedTuple):
    """One tile matmul of a step: ``acc += a . b`` for a computation at point (i, j, l)."""

    computation: str
    acc: TileKey
    a: TileKey
    b: TileKey
    m: int  # rows of the product (instruction frame)
    k: int  # reduction length
    n: int  # columns of the product


@dataclass(frozen=True)
class Segment:
    """A walk over ``box`` in loop order ``order`` (outermost first) with ``tiling``."""

    computations: tuple[str, ...]
    tiling: Tiling
    order: str
    box: Box


def _cuts(lo: int, hi: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, hi)) for start in range(lo, hi, tile)]


def segment_length(segment: Segment) -> int:
    """How many steps a segment has (without making them)."""
    total = 1
    for index in "ijl":
        lo, hi = segment.box.range(index)
        total *= -(-(hi - lo) // segment.tiling.size(index)) if hi > lo else 0
    return total


class _KeyRows(dict):
    """The tile keys of one role, row by row: ``table[p][q]``, each row made when first used."""

    def __init__(
        self,
        access: Access,
        is_acc: bool,
        row_cuts: list[tuple[int, int]],
        col_cuts: list[tuple[int, int]],
    ) -> None:
        super().__init__()
        self.access, self.is_acc, self.row_cuts, self.col_cuts = access, is_acc, row_cuts, col_cuts

    def __missing__(self, p: int) -> list[TileKey]:
        r0, r1 = self.row_cuts[p]
        access, is_acc = self.access, self.is_acc
        row = [(access, is_acc, r0, c0, r1 - r0, c1 - c0) for c0, c1 in self.col_cuts]
        self[p] = row
        return row


def iter_segment_steps(segment: Segment, layer: LayerGemm) -> Iterator[tuple[Matmul, ...]]:
    """The steps of one segment, in its loop order, one at a time."""
    if sorted(segment.order) != ["i", "j", "l"]:
        raise ValueError(f"loop order must be a permutation of 'ijl', got {segment.order!r}")
    cuts = {index: _cuts(*segment.box.range(index), segment.tiling.size(index)) for index in "ijl"}
    position = {index: segment.order.index(index) for index in "ijl"}

    # The tile keys of every role, by the positions of its two loop indices: one object
    # per tile (the planner looks keys up by identity first), a row of them made when
    # the walk first reaches it (a walk cut short reaches few).
    def keys(role: str, is_acc: bool) -> tuple[int, int, _KeyRows]:
        rows_index, cols_index = ROLE_INDICES[role]
        table = _KeyRows(layer.accesses[role], is_acc, cuts[rows_index], cuts[cols_index])
        return position[rows_index], position[cols_index], table

    plans = []
    for name in segment.computations:
        comp = COMPUTATIONS[name]
        rows_index, cols_index = ROLE_INDICES[comp.acc]
        plans.append(
            (
                name,
                keys(comp.acc, True),
                keys(comp.a, False),
                keys(comp.b, False),
                position[rows_index],
                position[comp.reduction],
                position[cols_index],
            )
        )
    outer, middle, inner = (cuts[index] for index in segment.order)
    inner_sizes = [(c, c1 - c0) for c, (c0, c1) in enumerate(inner)]
    new = tuple.__new__  # a Matmul made as its NamedTuple constructor makes it, one call less
    if len(plans) == 1:  # one computation: the common case, without the inner generator
        name, (ar, ac, at), (xr, xc, xt), (br, bc, bt), pm, pk, pn = plans[0]
        for ia, (a0, a1) in enumerate(outer):
            for ib, (b0, b1) in enumerate(middle):
                for ic, size_c in inner_sizes:
                    point = (ia, ib, ic)
                    sizes = (a1 - a0, b1 - b0, size_c)
                    yield (
                        new(
                            Matmul,
                            (
                                name,
                                at[point[ar]][point[ac]],
                                xt[point[xr]][point[xc]],
                                bt[point[br]][point[bc]],
                                sizes[pm],
                                sizes[pk],
                                sizes[pn],
                            ),
                        ),
                    )
        return
    for ia, (a0, a1) in enumerate(outer):
        for ib, (b0, b1) in enumerate(middle):
            for ic, size_c in inner_sizes:
                point = (ia, ib, ic)
                sizes = (a1 - a0, b1 - b0, size_c)
                yield tuple(
                    [
                        new(
                            Matmul,
                            (
                                name,
                                acc[2][point[acc[0]]][point[acc[1]]],
                                ka[2][point[ka[0]]][point[ka[1]]],
                                kb[2][point[kb[0]]][point[kb[1]]],
                                sizes[pm],
                                sizes[pk],
                                sizes[pn],
                            ),
                        )
                        for name, acc, ka, kb, pm, pk, pn in plans
                    ]
                )


def iter_phase_steps(
    segments: tuple[Segment, ...], layer: LayerGemm
) -> Iterator[tuple[Matmul, ...]]:
    """The steps of a phase, one at a time: step t holds every segment's t-th matmuls (its
    segments zipped)."""
    if len(segments) == 1:
        yield from iter_segment_steps(segments[0], layer)
        return
    for parts in itertools.zip_longest(*(iter_segment_steps(seg, layer) for seg in segments)):
        step: tuple[Matmul, ...] = ()
        for part in parts:
            if part is not None:
                step += part
        yield step


def phase_length(segments: tuple[Segment, ...]) -> int:
    """How many steps a phase has."""
    return max(segment_length(seg) for seg in segments)
