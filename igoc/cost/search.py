"""Searching schedules with the cost model: tile sizes per order, orders per op, partitions.

Tile sizes come from a grid aligned to the PE array (multiples of its side, and
the whole dimension) and are found by local search: start from the largest
tiles whose step fits twice in SPM (room for double buffering, which every
candidate keeps), then move one grid step along one or two dimensions while
the estimate improves. Every candidate is planned
by the real SPM planner, so its traffic is exact; it is ranked by estimated
cycles, then by DRAM bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from igoc.cost.model import Estimate, matmul_cycles
from igoc.schedule.compile import acc_dtype, estimate_layer, plan_layer
from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES, LayerGemm
from igoc.schedule.planner import PlanError
from igoc.schedule.schedule import INTERLEAVED_ORDERS, LayerSchedule, Partition
from igoc.schedule.steps import PERMUTATIONS, Tiling
from igoc.target import Target

WHOLE = Partition()  # no partitioning

FACTORS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)

# Local-search moves on the tile grid: one dimension a step up or down, or two
# dimensions in opposite directions (trading one tile side for another).
_MOVES = [
    m
    for m in itertools.product((-1, 0, 1), repeat=3)
    if sum(map(abs, m)) == 1 or (sum(map(abs, m)) == 2 and sum(m) == 0)
]


def compute_cycles(
    layer: LayerGemm, computation: str, tiling: Tiling, partition: Partition, target: Target
) -> int:
    """Array cycles of one computation over a layer's partition boxes (closed form)."""
    comp = COMPUTATIONS[computation]
    rows_index, cols_index = ROLE_INDICES[comp.acc]
    total = 0
    for box in partition.boxes(layer):
        pieces = {}
        for index in "ijl":
            lo, hi = box.range(index)
            size = tiling.size(index)
            full, rest = divmod(hi - lo, size)
            pieces[index] = [(size, full)] + ([(rest, 1)] if rest else [])
        for m, cm in pieces[rows_index]:
            for n, cn in pieces[cols_index]:
                for k, ck in pieces[comp.reduction]:
                    total += cm * cn * ck * matmul_cycles(m, k, n, target)
    return total


@dataclass(frozen=True)
class Candidate:
    """A schedule and what the cost model says of it (``estimate`` None: it does not fit)."""

    schedule: LayerSchedule
    estimate: Estimate | None
    needed_bytes: int = 0  # for one that does not fit: the SPM it asked for

    @property
    def rank(self) -> tuple[float, int]:
        """Sort key: estimated cycles, then DRAM bytes (unschedulable last)."""
        if self.estimate is None:
            return (float("inf"), 0)
        return (self.estimate.cycles, self.estimate.dram_bytes)


def evaluate(layers: list[LayerGemm], schedule: LayerSchedule, target: Target) -> Candidate:
    """Plan a schedule on every core and estimate it."""
    try:
        plans = plan_layer(layers, schedule, target)
    except PlanError as err:
        return Candidate(schedule, None, err.needed_bytes)
    return Candidate(schedule, estimate_layer(plans, target))


def _sizes(extent: int, align: int) -> list[int]:
    return sorted({min(extent, align * f) for f in FACTORS})


def _box_extent(layer: LayerGemm, partition: Partition) -> dict[str, int]:
    box = partition.boxes(layer)[0]
    return {d: hi - lo for d, (lo, hi) in (("m", box.m), ("n", box.n), ("k", box.k))}


def step_bytes(computations: Iterable[str], tiling: Tiling, elem: int, acc: int) -> int:
    """SPM bytes of the distinct tiles one step holds."""
    sizes = {"i": tiling.m, "j": tiling.n, "l": tiling.k}
    roles: dict[str, bool] = {}
    for name in computations:
        comp = COMPUTATIONS[name]
        roles[comp.a] = roles.get(comp.a, False)
        roles[comp.b] = roles.get(comp.b, False)
        roles[comp.acc] = True
    total = 0
    for role, is_acc in roles.items():
        r, c = ROLE_INDICES[role]
        total += sizes[r] * sizes[c] * (acc if is_acc else elem)
    return total


def best_tiling(
    layers: list[LayerGemm],
    computations: tuple[str, ...],
    order: str,
    target: Target,
    partition: Partition = WHOLE,
) -> Candidate:
    """The best tiling for one order (local search on the aligned grid)."""
    layer = layers[0]
    extent = _box_extent(layer, partition)
    grid = {
        "m": _sizes(extent["m"], target.array_rows),
        "n": _sizes(extent["n"], target.array_cols),
        "k": _sizes(extent["k"], target.array_rows),
    }
    elem, acc = layer.dtype.nbytes, acc_dtype(target).nbytes
    budget = target.spm_bytes // 2
    shared = len(computations) > 1 and order != "sequential"

    def schedule(point: tuple[int, ...]) -> LayerSchedule:
        tiling = Tiling(grid["m"][point[0]], grid["n"][point[1]], grid["k"][point[2]])
        if len(computations) == 1:
            return LayerSchedule(computations, order, (tiling,), partition)
        return LayerSchedule(computations, order, (tiling, tiling), partition)

    def compute_bound(p: tuple[int, ...]) -> float:
        t = Tiling(grid["m"][p[0]], grid["n"][p[1]], grid["k"][p[2]])
        return (
            sum(compute_cycles(layer, c, t, partition, target) for c in computations)
            * len(layers)
            / max(1, partition.cores)
        )

    def fits(p: tuple[int, ...]) -> bool:
        t = Tiling(grid["m"][p[0]], grid["n"][p[1]], grid["k"][p[2]])
        return step_bytes(computations if shared else computations[:1], t, elem, acc) <= budget

    def grow(point: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
        """Grow the given dimensions one grid step at a time, together, while it fits."""
        while True:
            q = list(point)
            for d in dims:
                q[d] = min(q[d] + 1, len(grid["mnk"[d]]) - 1)
            if tuple(q) == point or not fits(q):
                return point
            point = tuple(q)

    # Starts: the balanced tile, and for each priority of the dimensions the tile
    # that is as large as it can be along the first, then the second, then the third.
    starts = {grow((0, 0, 0), (0, 1, 2))}
    for prio in itertools.permutations(range(3)):
        p: tuple[int, ...] = (0, 0, 0)
        for d in prio:
            p = grow(p, (d,))
        starts.add(p)
    seen: dict[tuple[int, ...], Candidate] = {}

    def visit(p: tuple[int, ...]) -> Candidate:
        if p not in seen:
            if not fits(p) and p != (0, 0, 0):
                seen[p] = Candidate(schedule(p), None)  # no room to double-buffer
            else:
                seen[p] = evaluate(layers, schedule(p), target)
        return seen[p]

    ranked = sorted(starts, key=lambda p: visit(p).rank)
    best = visit(ranked[0])
    for point in ranked[:1]:
        current = visit(point)
        for _ in range(40):
            improved = False
            for move in _MOVES:
                q = tuple(p + d for p, d in zip(point, move, strict=True))
                if not all(0 <= v < len(grid[d]) for v, d in zip(q, "mnk", strict=True)):
                    continue
                if q not in seen and compute_bound(q) >= current.rank[0]:
                    continue  # its compute alone takes longer than the current best
                cand = visit(q)
                if cand.rank < current.rank:
                    current, point, improved = cand, q, True
            if not improved:
                break
        if current.rank < best.rank:
            best = current
    if best.estimate is None:
        # Nothing fitted around the start: shrink to the smallest tile.
        best = visit((0, 0, 0))
    return best


def single_candidates(
    layers: list[LayerGemm], computation: str, target: Target, partition: Partition = WHOLE
) -> list[Candidate]:
    """Every loop order of one GEMM, each with its best tiling."""
    return [best_tiling(layers, (computation,), order, target, partition) for order in PERMUTATIONS]


def best_single(
    layers: list[LayerGemm], computation: str, target: Target, partition: Partition = WHOLE
) -> Candidate:
    """The best loop order and tiling of one GEMM."""
    return min(single_candidates(layers, computation, target, partition), key=lambda c: c.rank)


def interleaved_candidates(
    layers: list[LayerGemm],
    target: Target,
    partition: Partition = WHOLE,
    orders: Iterable[str] = INTERLEAVED_ORDERS,
) -> list[Candidate]:
    """Every order of a layer's dX and dW, each with its best tiling.

    ``sequential`` is the two best single-GEMM schedules one after the other, the
    very schedule of the baseline, so choosing the cheapest candidate never loses
    to it by the cost model's measure.
    """
    out = []
    for order in orders:
        if order == "sequential":
            dx = best_single(layers, "dx", target, partition).schedule
            dw = best_single(layers, "dw", target, partition).schedule
            seq = LayerSchedule(
                ("dx", "dw"),
                "sequential",
                (dx.tilings[0], dw.tilings[0]),
                partition,
                loops=(dx.order, dw.order),
            )
            out.append(evaluate(layers, seq, target))
        else:
            out.append(best_tiling(layers, ("dx", "dw"), order, target, partition))
    return out


def paper_order(m: int, n: int, k: int) -> str:
    """Algorithm 1 of the paper: the order from the layer's dimensions alone."""
    if max(m, n, k) / min(m, n, k) < 4:
        return "only-interleaving"
    if k > n and k > m:
        return "dw-major"
    return "dx-major"
