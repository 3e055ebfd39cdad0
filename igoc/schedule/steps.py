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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Matmul:
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


def _tile_key(
    layer: LayerGemm, role: str, is_acc: bool, extent: dict[str, tuple[int, int]]
) -> TileKey:
    rows_index, cols_index = ROLE_INDICES[role]
    r0, r1 = extent[rows_index]
    c0, c1 = extent[cols_index]
    return (layer.accesses[role], is_acc, r0, c0, r1 - r0, c1 - c0)


def _matmul(name: str, layer: LayerGemm, extent: dict[str, tuple[int, int]]) -> Matmul:
    comp = COMPUTATIONS[name]
    size = {index: hi - lo for index, (lo, hi) in extent.items()}
    # The instruction frame: product rows/cols are the accumulator's, k is the reduction.
    rows_index, cols_index = ROLE_INDICES[comp.acc]
    return Matmul(
        computation=name,
        acc=_tile_key(layer, comp.acc, True, extent),
        a=_tile_key(layer, comp.a, False, extent),
        b=_tile_key(layer, comp.b, False, extent),
        m=size[rows_index],
        k=size[comp.reduction],
        n=size[cols_index],
    )


def _cuts(lo: int, hi: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, hi)) for start in range(lo, hi, tile)]


def segment_steps(segment: Segment, layer: LayerGemm) -> list[tuple[Matmul, ...]]:
    """The steps of one segment, in its loop order."""
    if sorted(segment.order) != ["i", "j", "l"]:
        raise ValueError(f"loop order must be a permutation of 'ijl', got {segment.order!r}")
    cuts = {index: _cuts(*segment.box.range(index), segment.tiling.size(index)) for index in "ijl"}
    outer, middle, inner = segment.order
    steps = []
    for a in cuts[outer]:
        for b in cuts[middle]:
            for c in cuts[inner]:
                extent = {outer: a, middle: b, inner: c}
                steps.append(tuple(_matmul(name, layer, extent) for name in segment.computations))
    return steps


def phase_steps(segments: tuple[Segment, ...], layer: LayerGemm) -> list[tuple[Matmul, ...]]:
    """Zip the steps of several segments: step t holds every segment's t-th matmuls."""
    walks = [segment_steps(seg, layer) for seg in segments]
    length = max(len(w) for w in walks)
    steps = []
    for t in range(length):
        step: tuple[Matmul, ...] = ()
        for walk in walks:
            if t < len(walk):
                step += walk[t]
        steps.append(step)
    return steps


def schedule_steps(
    phases: tuple[tuple[Segment, ...], ...], layers: list[LayerGemm]
) -> list[tuple[Matmul, ...]]:
    """Every step of a schedule: for each layer (group), each phase in turn."""
    steps: list[tuple[Matmul, ...]] = []
    for layer in layers:
        for phase in phases:
            steps.extend(phase_steps(phase, layer))
    return steps
