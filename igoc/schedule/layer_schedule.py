"""A layer's schedule: the tile order, tile sizes and partitioning that a pass chose.

Orders of a layer with both gradients (the ``order`` of ``#sched.schedule``):

- ``sequential`` — the two gradients as separate tiled GEMMs, one after the
  other, each with its own tile sizes and loop order (the conventional
  schedule; the baseline). dW runs first: with the batch split across cores its
  partial sums are added across them, and those stores overlap dX;
- ``only-interleaving`` — dX in its own order (rows of dY, reduction over N
  innermost) zipped step by step with dW in its own (columns of dY, reduction
  over M innermost): no partial sums, little dY sharing;
- ``dx-major`` — one walk over dY by rows, both gradients at every dY tile;
- ``dw-major`` — one walk over dY by columns, both gradients at every tile;
- ``fused-<perm>`` — both gradients at every point of any other loop order.

A single GEMM (a forward op, or a gradient without its partner) has a loop
order, a permutation of ``ijl`` (i walks M, j walks N, l walks K; outermost
first). A partition splits the frame along one dimension into ``parts`` equal
boxes; ``cores`` of them run side by side, the rest one after another.

How a schedule was found and how its SPM is used (its *discipline*) travel with it, so
that every pass after ``tile`` keeps them and the lowering plans the way the cost model
estimated:

- ``tiler``: ``search`` (tile sizes searched on an aligned grid by the cost model) or
  ``analytic`` (the analytic tile sizes of the paper's baseline, ``igoc.cost.analytic``);
- ``reuse``: ``belady`` (the SPM planner keeps any tile for any later use of it, evicting
  by Belady's rule), ``window`` (an input tile is kept for its next use only if the
  tiles touched in between fit half the SPM: the paper's description of its baseline,
  §4.2, with the distance measured in bytes, LRU stack distance, where the paper counts
  tiled computations, and partial sums kept while they fit, igoc's own choices; see
  ``igoc.schedule.planner``) or ``none`` (no input tile is kept from one step to the
  next: each step loads its inputs anew, as mNPUsim's request generator reads each
  tile's lines again, ``software_request_generator.cpp`` lines 94-96; partial sums are
  kept while they fit, as under ``window``; for an ablation, not the paper's description).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from igoc.schedule.layer import COMPUTATIONS, LayerGemm, layers_key
from igoc.schedule.steps import (
    PERMUTATIONS,
    Box,
    Matmul,
    Segment,
    Tiling,
    iter_phase_steps,
    phase_length,
)

#: The loop order each gradient walks in when it runs alone (reduction innermost).
NATURAL_ORDER = {"fwd": "ijl", "dx": "ilj", "dw": "jli"}

FUSED_NAMES = {"ijl": "dx-major", "jil": "dw-major"}
TILERS = ("search", "analytic")
REUSES = ("belady", "window", "none")
INTERLEAVED_ORDERS = (
    "sequential",
    "only-interleaving",
    "dx-major",
    "dw-major",
    *(f"fused-{p}" for p in PERMUTATIONS if p not in FUSED_NAMES),
)


@dataclass(frozen=True)
class Partition:
    """Split the frame along ``dim`` ("m", "n" or "k") into ``parts`` boxes over ``cores`` cores."""

    dim: str | None = None
    parts: int = 1
    cores: int = 1

    def boxes(self, layer: LayerGemm) -> list[Box]:
        """The boxes of the partition, in order (box p runs on core p % cores)."""
        whole = Box.whole(layer)
        if self.dim is None or self.parts == 1:
            return [whole]
        size = layer.dim({"m": "i", "n": "j", "k": "l"}[self.dim])
        cuts = [size * p // self.parts for p in range(self.parts + 1)]
        boxes = []
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            if hi > lo:
                boxes.append(Box(**{**whole.__dict__, self.dim: (lo, hi)}))
        return boxes

    def __str__(self) -> str:
        if self.dim is None or self.parts == 1:
            return "none"
        return f"{self.dim}{self.parts}"


@dataclass(frozen=True)
class LayerSchedule:
    """The schedule of one op: its order, tiles per computation, loop orders and partition."""

    computations: tuple[str, ...]  # e.g. ("dx", "dw") or ("fwd",)
    order: str  # an entry of INTERLEAVED_ORDERS, or a permutation for a single GEMM
    tilings: tuple[Tiling, ...]  # one per computation (shared orders repeat the same tiling)
    partition: Partition = field(default_factory=Partition)
    loops: tuple[str, ...] | None = None  # "sequential": each computation's loop order
    tiler: str = "search"  # how its tiles were found: one of TILERS
    reuse: str = "belady"  # how the SPM keeps tiles between uses: one of REUSES

    def __post_init__(self) -> None:
        if len(self.tilings) != len(self.computations):
            raise ValueError("one tiling per computation")
        if len(self.computations) == 1:
            if self.order not in PERMUTATIONS:
                raise ValueError(f"order {self.order!r} is not a loop order of 'ijl'")
        elif self.order not in INTERLEAVED_ORDERS:
            raise ValueError(f"order {self.order!r} is not one of {', '.join(INTERLEAVED_ORDERS)}")
        elif not self.separate_tilings() and self.tilings[0] != self.tilings[1]:
            raise ValueError(f"order {self.order!r} shares one tiling between dX and dW")
        if self.loops is not None:
            if self.order != "sequential" or len(self.loops) != len(self.computations):
                raise ValueError("per-computation loop orders belong to the sequential order")
            if any(loop not in PERMUTATIONS for loop in self.loops):
                raise ValueError(f"loop orders {self.loops} are not permutations of 'ijl'")
        if self.tiler not in TILERS or self.reuse not in REUSES:
            raise ValueError(f"unknown tiler {self.tiler!r} or reuse {self.reuse!r}")

    def separate_tilings(self) -> bool:
        """Whether dX and dW may have tilings of their own: under ``sequential``, and under
        ``only-interleaving`` with the analytic tiler (each GEMM's own analytic tiles)."""
        return self.order == "sequential" or (
            self.order == "only-interleaving" and self.tiler == "analytic"
        )

    def discipline(self) -> tuple[str, str]:
        """``(tiler, reuse)``."""
        return (self.tiler, self.reuse)

    def loop_orders(self) -> tuple[str, ...]:
        """The loop order of each computation."""
        if len(self.computations) == 1:
            return (self.order,)
        if self.order == "sequential" and self.loops is not None:
            return self.loops
        if self.order in ("sequential", "only-interleaving"):
            return tuple(NATURAL_ORDER[c] for c in self.computations)
        perm = {v: k for k, v in FUSED_NAMES.items()}.get(self.order)
        perm = perm or self.order.removeprefix("fused-")
        return (perm, perm)

    def phases(self, box: Box) -> tuple[tuple[Segment, ...], ...]:
        """The phases (``steps.py``) that walk one box."""
        orders = self.loop_orders()
        if len(self.computations) == 1 or self.order == "sequential":
            phases = [
                (Segment((c,), t, o, box),)
                for c, t, o in zip(self.computations, self.tilings, orders, strict=True)
            ]
            # dW first: when the cores split M, its partial sums are added across cores,
            # and those stores then overlap dX's compute instead of ending the layer.
            return tuple(sorted(phases, key=lambda p: p[0].computations != ("dw",)))
        if self.order == "only-interleaving":
            return (
                tuple(
                    Segment((c,), t, o, box)
                    for c, t, o in zip(self.computations, self.tilings, orders, strict=True)
                ),
            )
        return ((Segment(self.computations, self.tilings[0], orders[0], box),),)

    def as_dict(self) -> dict:
        """``{order, tile, loops?, partition}`` (tile: one [m, n, k] per computation), as the
        ``.npu`` file's metadata records it."""
        out: dict = {"order": self.order, "tile": [[t.m, t.n, t.k] for t in self.tilings]}
        if self.loops is not None:
            out["loops"] = list(self.loops)
        p = self.partition
        out["partition"] = {"dim": p.dim or "none", "parts": p.parts, "cores": p.cores}
        if self.tiler != "search":
            out["tiler"] = self.tiler
        if self.reuse != "belady":
            out["reuse"] = self.reuse
        return out

    def partial_roles(self, layer: LayerGemm) -> set[str]:
        """Outputs whose reduction the partition splits across cores (their tiles are added)."""
        if self.partition.cores <= 1 or self.partition.dim is None:
            return set()
        index = {"m": "i", "n": "j", "k": "l"}[self.partition.dim]
        return {
            COMPUTATIONS[c].acc for c in self.computations if COMPUTATIONS[c].reduction == index
        }


def window_bytes(reuse: str, spm_bytes: int) -> int | None:
    """The reuse window of a discipline (``planner.plan_schedule``): half the SPM under
    ``window`` (the other half holds the tiles being loaded: the paper's double buffering),
    -1 under ``none`` (nothing touched in between is ever that little: no input tile is
    kept for a later step), None (no window) under ``belady``."""
    if reuse == "window":
        return spm_bytes // 2
    return -1 if reuse == "none" else None


# ---- the walk of each core -------------------------------------------------------------------


def core_walk(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int
) -> Iterator[tuple[tuple[Segment, ...], LayerGemm]]:
    """The phases core ``core`` walks, in order, with their layer: its boxes of the partition
    (box ``p`` runs on core ``p % cores``), group by group."""
    part = schedule.partition
    boxes = part.boxes(layers[0])
    mine = [box for p, box in enumerate(boxes) if p % part.cores == core]
    for layer in layers:
        for box in mine:
            for phase in schedule.phases(box):
                yield phase, layer


def core_steps(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int, limit: int | None = None
) -> list[tuple[Matmul, ...]]:
    """The steps core ``core`` walks (the first ``limit`` of them, if given)."""
    walk = itertools.chain.from_iterable(
        iter_phase_steps(phase, layer) for phase, layer in core_walk(layers, schedule, core)
    )
    return list(itertools.islice(walk, limit))


def core_walk_key(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int, length: int | None = None
) -> tuple:
    """A key of the steps core ``core`` walks (``core_steps``), or of the first ``length`` of
    them: equal keys, equal steps.

    Made without walking: the GEMMs, then each phase of a group's walk by its segments'
    computations, the tile cuts along each index (its range and a tile size no larger than
    the range) and the loop order without the indices cut into a single tile, which walk
    alike wherever they go (loop orders that differ only there, or tile sizes that all
    cover a range, walk alike). Some walks that are made differently step alike, and share
    a key:

    - segments zipped in one phase that visit the same points in the same order (the two
      of ``only-interleaving`` when they walk one index) step like one segment running all
      their computations at each point;
    - consecutive phases of one segment each, alike but for the range of the index they
      walk outermost, where the first ends on a tile boundary and the second begins (boxes
      of a partition one after another on a core), step like one phase over both ranges;
    - of the first ``length`` steps, only the tiles they reach along the outermost index
      of the phase they end in count (a walk and a longer one that begins alike).
    """
    part = schedule.partition
    boxes = part.boxes(layers[0])
    mine = [box for p, box in enumerate(boxes) if p % part.cores == core]
    phases: list[tuple[tuple, int]] = []  # a group's phases: key, steps
    for box in mine:
        for phase in schedule.phases(box):
            key = _phase_key(phase)
            joined = _joined(phases[-1][0], key) if phases else None
            if joined is None:
                phases.append((key, phase_length(phase)))
            else:
                phases[-1] = (joined, phases[-1][1] + phase_length(phase))
    if length is not None and length < sum(steps for _, steps in phases):
        phases = _cut(phases, length)
    return (layers_key(layers), tuple(key for key, _ in phases), length)


def _segment_key(segment: Segment) -> tuple:
    cuts = []
    walked = []
    for index in segment.order:
        lo, hi = segment.box.range(index)
        size = min(segment.tiling.size(index), hi - lo)
        cuts.append((index, lo, hi, size))
        if hi - lo > size:  # more than one tile along it
            walked.append(index)
    if sorted(segment.order) != ["i", "j", "l"]:
        walked = list(segment.order)  # not a loop order: kept as is (walking it fails)
    return (segment.computations, tuple(sorted(cuts)), tuple(walked))


def _phase_key(phase: tuple[Segment, ...]) -> tuple:
    """A phase's key: its segments' keys, or one segment's key when they visit the same
    points in the same order (equal cuts, equal walked indices, each a loop order)."""
    keys = [_segment_key(segment) for segment in phase]
    if len(keys) > 1 and all(
        key[1:] == keys[0][1:] and sorted(segment.order) == ["i", "j", "l"]
        for key, segment in zip(keys, phase, strict=True)
    ):
        computations = tuple(c for key in keys for c in key[0])
        return ((computations, keys[0][1], keys[0][2]),)
    return tuple(keys)


def _joined(first: tuple, second: tuple) -> tuple | None:
    """The key of two consecutive phases walked as one (see ``core_walk_key``), or None."""
    if len(first) != 1 or len(second) != 1:
        return None
    (computations, cuts, walked), (computations2, cuts2, walked2) = first[0], second[0]
    if computations != computations2 or walked != walked2 or not walked:
        return None
    outer = walked[0]
    joined = []
    for (index, lo, hi, size), (index2, lo2, hi2, size2) in zip(cuts, cuts2, strict=True):
        if index != index2 or size != size2:
            return None
        if index != outer:
            if (lo, hi) != (lo2, hi2):
                return None
            joined.append((index, lo, hi, size))
        elif hi != lo2 or (hi - lo) % size:
            return None
        else:
            joined.append((index, lo, hi2, size))
    return ((computations, tuple(joined), walked),)


def _cut(phases: list[tuple[tuple, int]], length: int) -> list[tuple[tuple, int]]:
    """The phases of the first ``length`` steps, the last one's outermost walked index cut to
    the tiles they reach (when it is one segment)."""
    out = []
    for key, steps in phases:
        if steps < length:
            out.append((key, steps))
            length -= steps
            continue
        if len(key) == 1 and key[0][2]:
            computations, cuts, walked = key[0]
            outer = walked[0]
            inner = 1  # steps per tile of the outermost index
            for index, lo, hi, size in cuts:
                if index != outer and index in walked:
                    inner *= -(-(hi - lo) // size)
            reached = -(-length // inner)
            cut = []
            for index, lo, hi, size in cuts:
                if index == outer and lo + reached * size < hi:
                    hi = lo + reached * size
                cut.append((index, lo, hi, size))
            key = ((computations, tuple(cut), walked),)
        out.append((key, length))
        break
    return out


def core_step_count(layers: list[LayerGemm], schedule: LayerSchedule, core: int) -> int:
    """How many steps core ``core`` walks (without making them)."""
    return sum(phase_length(phase) for phase, _ in core_walk(layers, schedule, core))
