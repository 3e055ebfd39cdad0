"""Searching schedules with the cost model: tile sizes per order, orders per op, partitions.

Tile sizes come from a grid aligned to the PE array (multiples of its side, and
the whole dimension) and are found by local search: start from the largest
tiles whose step fits twice in SPM (room for double buffering, which every
candidate keeps), then move one grid step along one or two dimensions while
the estimate improves. Every candidate is planned
by the real SPM planner, so its traffic is exact; it is ranked by estimated
cycles, then by DRAM bytes.

A :class:`Search` is the state of the searches for one target: the estimates and
decisions made so far, remembered because the searches of one compile (and the
pipelines of one input, compiled with one ``Search``) revisit the same schedules.
The driver creates it and hands it to the passes; nothing is remembered elsewhere.
A *context* (``EvalContext``) is the layer that runs just before the one being
scheduled, when its data may still be in SPM: estimates are made with it planned
first.

A search has a *discipline* (``Search.under``): the tiler (``search``, the grid search
above, or ``analytic``, the paper's baseline's tile sizes, ``igoc.cost.analytic``, of
which the cost model picks the best member) and the SPM reuse (``belady``, ``window``
or ``none``, ``igoc.schedule.layer_schedule``) of every schedule it makes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from igoc.cost import analytic, store
from igoc.cost.model import Estimate, FinalStores, WalkEstimates, estimate_schedule, scale
from igoc.isa.cycles import matmul_cycles
from igoc.schedule.describe import LayerDesc
from igoc.schedule.emit import acc_dtype
from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES, LayerGemm, layers_key
from igoc.schedule.layer_schedule import (
    INTERLEAVED_ORDERS,
    NATURAL_ORDER,
    LayerSchedule,
    Partition,
)
from igoc.schedule.planner import PlanError
from igoc.schedule.steps import PERMUTATIONS, Tiling
from igoc.target import Target

WHOLE = Partition()  # no partitioning

FACTORS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048)
"""Tile sizes are these multiples of the array's side (and the whole dimension): the large
ones serve thin GEMMs, such as a depthwise conv's groups, whose other sides are tiny."""

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


EvalContext = tuple[list[LayerGemm], LayerSchedule]
"""The GEMMs and schedule of a layer planned just before the one being estimated."""

EVALUATED_LIMIT = 40000
"""Evaluations a search remembers; when full, the older half is forgotten."""


class Search:
    """The searches for one target: what they estimated and decided so far.

    ``disk``: decisions are also looked up in and written to the on-disk store
    (``igoc.cost.store``, when ``IGOC_DECISION_CACHE`` names a folder).
    """

    def __init__(
        self, target: Target, disk: bool = True, tiler: str = "search", reuse: str = "belady"
    ) -> None:
        self.target = target
        self.disk = disk
        self.tiler, self.reuse = tiler, reuse
        self._evaluated: dict[tuple, Candidate] = {}
        self._decisions: dict[tuple, object] = {}
        self._simulated: dict[tuple, int] = {}
        self.final_stores: FinalStores = {}
        self.walks: WalkEstimates = {}
        self.programs: dict[tuple, int] = {}  # whole programs weighed (``confirm-program``)
        self._disciplines: dict[tuple[str, str], Search] = {(tiler, reuse): self}

    def under(self, tiler: str, reuse: str) -> Search:
        """The search for the same target under another discipline (it shares this one's
        memory: estimates are keyed by schedules, which carry their discipline, and
        decisions by the discipline too)."""
        found = self._disciplines.get((tiler, reuse))
        if found is None:
            found = Search(self.target, self.disk, tiler, reuse)
            found._evaluated, found._decisions = self._evaluated, self._decisions
            found._simulated = self._simulated
            found.final_stores, found._disciplines = self.final_stores, self._disciplines
            found.walks, found.programs = self.walks, self.programs
            self._disciplines[(tiler, reuse)] = found
        return found

    MEMORIES = ("_decisions", "_evaluated", "_simulated", "final_stores", "walks")
    """What a search remembers: decisions, candidates, simulations, final stores, walks."""

    def memory(self) -> dict[str, dict]:
        """Everything this search remembers, to be taken in by another process's search
        of the same target (:meth:`absorb`)."""
        return {name: getattr(self, name) for name in self.MEMORIES}

    def absorb(self, memory: dict[str, dict]) -> None:
        """Remember what another search of the same target remembered (``memory``). What
        this one holds already stays: every entry is a pure function of its key (a
        decision or an estimate), so equal keys hold equal values."""
        for name, entries in memory.items():
            mine = getattr(self, name)
            for key, value in entries.items():
                mine.setdefault(key, value)

    def forget_estimates(self) -> None:
        """Let go of the estimates remembered (for every discipline); decisions are kept."""
        self._evaluated.clear()
        self.walks.clear()
        self.final_stores.clear()
        self._simulated.clear()

    def simulated(
        self, desc: LayerDesc, schedule: LayerSchedule, context: SimContext | None = None
    ) -> int:
        """The simulated cycles of one layer under a schedule, alone or after a context layer
        (``oracle.simulate_layer``), remembered: ``select-order`` and ``partition`` simulate
        some schedules of an op both. Keyed by everything of the layers the program is made
        from (their tensor names too) and the schedules."""
        key = (
            desc_key(desc),
            schedule,
            None if context is None else (desc_key(context[0]), context[1]),
        )
        found = self._simulated.get(key)
        if found is None:
            from igoc.cost.oracle import simulate_layer

            found = self._simulated[key] = simulate_layer(desc, schedule, self.target, context)
        return found

    def schedule(
        self,
        computations: tuple[str, ...],
        order: str,
        tilings: tuple[Tiling, ...],
        partition: Partition,
        loops: tuple[str, ...] | None = None,
    ) -> LayerSchedule:
        """A schedule under this search's discipline."""
        return LayerSchedule(computations, order, tilings, partition, loops, self.tiler, self.reuse)

    def evaluate(
        self, layers: list[LayerGemm], schedule: LayerSchedule, context: EvalContext | None = None
    ) -> Candidate:
        """Plan a schedule on every core and estimate it (remembered).

        The groups of a grouped convolution are equal GEMMs on disjoint data, one after
        another: one group is planned and its estimate counted once per group. With a
        ``context``, the context layer is planned first and only this layer estimated.
        Long walks and several cores are estimated as ``model.estimate_schedule`` says.
        """
        key = (layers_key(layers[:1]), len(layers), schedule, _context_key(context))
        found = self._evaluated.get(key)
        if found is not None:
            return found
        try:
            if context is not None and len(layers) == 1:
                estimate = estimate_schedule(
                    layers, schedule, self.target, context, self.final_stores, self.walks
                )
            else:
                estimate = estimate_schedule(
                    layers[:1], schedule, self.target, None, self.final_stores, self.walks
                )
            if len(layers) > 1:
                estimate = scale(estimate, len(layers))
            cand = Candidate(schedule, estimate)
        except PlanError as err:
            cand = Candidate(schedule, None, err.needed_bytes)
        if len(self._evaluated) >= EVALUATED_LIMIT:
            for old in list(itertools.islice(self._evaluated, EVALUATED_LIMIT // 2)):
                del self._evaluated[old]
        self._evaluated[key] = cand
        return cand

    def decided(self, key: tuple, decide: Callable[[], object]):
        """The decision remembered for ``key`` (here, or on disk), else ``decide()``'s."""
        if (self.tiler, self.reuse) != ("search", "belady"):
            key = (*key, "discipline", self.tiler, self.reuse)
        if key not in self._decisions:
            stored = store.load(key) if self.disk else None
            if stored is None:
                stored = decide()
                if self.disk:
                    store.save(key, stored)
            self._decisions[key] = stored
        return self._decisions[key]


NEAR = 0.02
"""Estimated cycles within this fraction of the fastest count as a tie, which the fewer DRAM
bytes break: the cycle estimate is good to a few percent (its median error is about 1%),
the traffic is exact, and the bytes a schedule does not move are bandwidth left to the
other cores and to the layers around it."""


@dataclass(frozen=True)
class Candidate:
    """A schedule and what the cost model says of it (``estimate`` None: it does not fit)."""

    schedule: LayerSchedule
    estimate: Estimate | None
    needed_bytes: int = 0  # for one that does not fit: the SPM it asked for

    @functools.cached_property
    def rank(self) -> tuple[float, int]:
        """Sort key: estimated cycles, then DRAM bytes (unschedulable last); worked out once
        (searches compare candidates again and again, and an estimate is not changed once
        made)."""
        if self.estimate is None:
            return (float("inf"), 0)
        return (self.estimate.cycles, self.estimate.dram_bytes)


def best_of(candidates: list[Candidate]) -> Candidate:
    """The candidate to take: of those whose estimated cycles are within ``NEAR`` of the
    fastest, the one that moves the fewest DRAM bytes (then the faster; then the first)."""
    fitting = [c for c in candidates if c.estimate is not None]
    if not fitting:
        return candidates[0]
    fastest = min(c.estimate.cycles for c in fitting)  # type: ignore[union-attr]
    near = [c for c in fitting if c.estimate.cycles <= fastest * (1 + NEAR)]  # type: ignore[union-attr]
    return min(near, key=lambda c: (c.estimate.dram_bytes, c.rank))  # type: ignore[union-attr]


SimContext = tuple[LayerDesc, LayerSchedule]
"""A layer simulated just before the one being simulated, with its schedule."""


def desc_key(desc: LayerDesc) -> tuple:
    """Every field of a layer op, hashable (with the target, all that its items depend on)."""
    return (
        desc.name,
        desc.signature(),
        tuple(sorted(desc.tensors.items())),
    )


def _context_key(context: EvalContext | None) -> tuple | None:
    if context is None:
        return None
    layers, schedule = context
    return (layers_key(layers), schedule)


def _sizes(extent: int, align: int) -> list[int]:
    return sorted({min(extent, align * f) for f in FACTORS})


def _box_extent(layer: LayerGemm, partition: Partition) -> dict[str, int]:
    box = partition.boxes(layer)[0]
    return {d: hi - lo for d, (lo, hi) in (("m", box.m), ("n", box.n), ("k", box.k))}


def step_bytes(computations: Iterable[str], tiling: Tiling, elem: int, acc: int) -> int:
    """SPM bytes of the distinct tiles one step holds."""
    sizes = {"i": tiling.m, "j": tiling.n, "l": tiling.k}
    return analytic.step_footprint(sizes, tuple(computations), elem, acc)


@functools.lru_cache(maxsize=1 << 14)
def _groups_bytes(groups: tuple[tuple[str, ...], ...], tiling: Tiling, elem: int, acc: int) -> int:
    """SPM bytes of the distinct tiles of one step of each group, summed (remembered: every
    order's search asks for the same tiles)."""
    return sum(step_bytes(group, tiling, elem, acc) for group in groups)


@functools.lru_cache(maxsize=1 << 12)
def _starts(
    grid: tuple[tuple[int, ...], ...],
    groups: tuple[tuple[str, ...], ...],
    elem: int,
    acc: int,
    budget: int,
) -> tuple[tuple[int, ...], ...]:
    """``TileSearch.quick``'s starting points on a grid: the balanced one, then for each
    priority of the dimensions the point grown as far as two steps fit along the first,
    the second, the third (remembered: every order's search starts from the same)."""

    def fits(p: tuple[int, ...]) -> bool:
        tiling = Tiling(grid[0][p[0]], grid[1][p[1]], grid[2][p[2]])
        return _groups_bytes(groups, tiling, elem, acc) <= budget

    def grow(point: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
        while True:
            q = list(point)
            for d in dims:
                q[d] = min(q[d] + 1, len(grid[d]) - 1)
            if tuple(q) == point or not fits(tuple(q)):
                return point
            point = tuple(q)

    out = [grow((0, 0, 0), (0, 1, 2))]
    for prio in itertools.permutations(range(3)):
        p: tuple[int, ...] = (0, 0, 0)
        for d in prio:
            p = grow(p, (d,))
        out.append(p)
    return tuple(out)


class TileSearch:
    """The search for one order's best tiles on the aligned grid (``refine()``: the best).

    ``quick()`` evaluates only the starting tiles: the balanced one (all three
    dimensions grown together while two steps' tiles fit in SPM), and for each
    priority of the dimensions the tile grown as far as it fits along the first,
    then the second, then the third.
    ``refine()`` then moves one grid step along one dimension, or two in opposite
    directions, while the estimate improves. Both remember what they evaluated.
    """

    def __init__(
        self,
        search: Search,
        layers: list[LayerGemm],
        computations: tuple[str, ...],
        order: str,
        partition: Partition = WHOLE,
        context: EvalContext | None = None,
    ) -> None:
        self.search, self.context = search, context
        self.layers, self.computations, self.order = layers, computations, order
        self.target, self.partition = search.target, partition
        target = search.target
        extent = _box_extent(layers[0], partition)
        self.grid = (
            tuple(_sizes(extent["m"], target.array_rows)),
            tuple(_sizes(extent["n"], target.array_cols)),
            tuple(_sizes(extent["k"], target.array_rows)),
        )
        self.elem = layers[0].dtype.nbytes
        self.acc = acc_dtype(target).nbytes
        self.budget = target.spm_bytes // 2
        # The tiles one step holds: a fused order's computations share theirs; the zipped
        # orders of only-interleaving each bring their own (dY twice, at two places).
        if len(computations) == 1 or order in ("sequential", "only-interleaving"):
            self.step_groups: tuple[tuple[str, ...], ...] = tuple((c,) for c in computations)
            if order == "sequential":
                self.step_groups = self.step_groups[:1]
        else:
            self.step_groups = (computations,)
        self.seen: dict[tuple[int, ...], Candidate] = {}
        self._tilings: dict[tuple[int, ...], Tiling] = {}
        self._fits: dict[tuple[int, ...], bool] = {}
        self._bounds: dict[tuple[int, ...], float] = {}
        self.best: Candidate | None = None
        self.best_point: tuple[int, ...] = (0, 0, 0)

    def tiling(self, p: tuple[int, ...]) -> Tiling:
        """The tiles at a grid point."""
        found = self._tilings.get(p)
        if found is None:
            found = Tiling(self.grid[0][p[0]], self.grid[1][p[1]], self.grid[2][p[2]])
            self._tilings[p] = found
        return found

    def schedule(self, p: tuple[int, ...]) -> LayerSchedule:
        """The schedule at a grid point."""
        tiles = (self.tiling(p),) * len(self.computations)
        return self.search.schedule(self.computations, self.order, tiles, self.partition)

    def fits(self, p: tuple[int, ...]) -> bool:
        """Whether two steps' tiles fit in SPM (room for double buffering)."""
        found = self._fits.get(p)
        if found is None:
            need = _groups_bytes(self.step_groups, self.tiling(p), self.elem, self.acc)
            found = self._fits[p] = need <= self.budget
        return found

    def compute_bound(self, p: tuple[int, ...]) -> float:
        """The array cycles alone at a grid point: no schedule of it is faster (remembered:
        the local search asks again for the neighbours of every point it moves to)."""
        found = self._bounds.get(p)
        if found is None:
            layer, t = self.layers[0], self.tiling(p)
            total = sum(
                compute_cycles(layer, c, t, self.partition, self.target) for c in self.computations
            )
            found = self._bounds[p] = total * len(self.layers) / max(1, self.partition.cores)
        return found

    def chosen(self) -> Candidate:
        """The pick among every point visited (``best_of``)."""
        if self.best is None:
            self.quick()
        return best_of(list(self.seen.values()))

    def visit(self, p: tuple[int, ...]) -> Candidate:
        """Evaluate a grid point (once)."""
        if p not in self.seen:
            if not self.fits(p) and p != (0, 0, 0):
                self.seen[p] = Candidate(self.schedule(p), None)  # no room to double-buffer
            else:
                self.seen[p] = self.search.evaluate(self.layers, self.schedule(p), self.context)
            if self.best is None or self.seen[p].rank < self.best.rank:
                self.best, self.best_point = self.seen[p], p
        return self.seen[p]

    def balanced(self) -> tuple[int, ...]:
        """The grid point grown in all three dimensions together while two steps fit."""
        return _starts(self.grid, self.step_groups, self.elem, self.acc, self.budget)[0]

    def quick(self) -> Candidate:
        """The best of the starting tiles (under the analytic tiler: its pick)."""
        if self.search.tiler == "analytic":
            return self._analytic()
        starts = _starts(self.grid, self.step_groups, self.elem, self.acc, self.budget)
        for p in sorted(set(starts)):
            self.visit(p)
        if self.best is not None and self.best.estimate is None:
            self.visit((0, 0, 0))  # nothing fitted: the smallest tiles
        return self.best  # type: ignore[return-value]

    def _analytic(self) -> Candidate:
        if self.best is None:
            self.best = analytic_candidate(
                self.search,
                self.layers,
                self.computations,
                self.order,
                self.partition,
                self.context,
            )
            self.seen[(0, 0, 0)] = self.best
        return self.best

    def refine(self) -> Candidate:
        """Local search from the best point so far (under the analytic tiler: its pick)."""
        if self.search.tiler == "analytic":
            return self._analytic()
        if self.best is None:
            self.quick()
        point, current = self.best_point, self.best
        for _ in range(40):
            improved = False
            for move in _MOVES:
                q = tuple(p + d for p, d in zip(point, move, strict=True))
                if not all(0 <= v < len(self.grid[d]) for d, v in enumerate(q)):
                    continue
                if q not in self.seen and self.compute_bound(q) >= current.rank[0]:  # type: ignore[union-attr]
                    continue  # its compute alone takes longer than the current best
                cand = self.visit(q)
                if cand.rank < current.rank:  # type: ignore[union-attr]
                    current, point, improved = cand, q, True
            if not improved:
                break
        return self.chosen()


def screened(searches: list[TileSearch], refine: int) -> list[Candidate]:
    """Each search's quick result, and the ``refine`` most promising refined."""
    quick = [s.quick() for s in searches]
    ranked = sorted(range(len(searches)), key=lambda i: quick[i].rank)
    for i in ranked[:refine]:
        searches[i].refine()
    return [s.chosen() for s in searches]


def single_candidates(
    search: Search,
    layers: list[LayerGemm],
    computation: str,
    partition: Partition = WHOLE,
    context: EvalContext | None = None,
) -> list[Candidate]:
    """Every loop order of one GEMM: each at its starting tiles, the best two refined
    (``best_of`` them: the GEMM's best loop order and tiles). Under the analytic tiler,
    its pick (loop order and tiles)."""
    if search.tiler == "analytic":
        return [analytic_candidate(search, layers, (computation,), "ijl", partition, context)]
    searches = [
        TileSearch(search, layers, (computation,), order, partition, context)
        for order in PERMUTATIONS
    ]
    return screened(searches, refine=2)


def interleaved_candidates(
    search: Search,
    layers: list[LayerGemm],
    partition: Partition = WHOLE,
    orders: Iterable[str] = INTERLEAVED_ORDERS,
    refine: int = 3,
    context: EvalContext | None = None,
) -> list[Candidate]:
    """Every order of a layer's dX and dW, each with its best tiling.

    ``sequential`` is the two best single-GEMM schedules one after the other, the
    very schedule of the baseline, so choosing the cheapest candidate never loses
    to it by the cost model's measure. The fused orders are screened at their
    starting tiles and the ``refine`` most promising searched further.
    """
    orders = list(orders)
    if search.tiler == "analytic":
        return [
            analytic_candidate(search, layers, ("dx", "dw"), o, partition, context) for o in orders
        ]
    fused = [o for o in orders if o != "sequential"]
    searches = [TileSearch(search, layers, ("dx", "dw"), o, partition, context) for o in fused]
    found = dict(zip(fused, screened(searches, refine), strict=True))
    if "sequential" in orders:
        dx, dw = (
            best_of(single_candidates(search, layers, comp, partition, context)).schedule
            for comp in ("dx", "dw")
        )
        seq = search.schedule(
            ("dx", "dw"),
            "sequential",
            (dx.tilings[0], dw.tilings[0]),
            partition,
            (dx.order, dw.order),
        )
        found["sequential"] = search.evaluate(layers, seq, context)
    return [found[o] for o in orders]


ANALYTIC_REFITS = 8
"""How often the analytic tiler computes its family again, for a budget an eighth smaller
each time, when the planner cannot place a step of it twice (fragmentation)."""


def analytic_candidate(
    search: Search,
    layers: list[LayerGemm],
    computations: tuple[str, ...],
    order: str,
    partition: Partition = WHOLE,
    context: EvalContext | None = None,
) -> Candidate:
    """The analytic tiler's schedule for an order: the member of its family
    (``igoc.cost.analytic``) the cost model estimates best. A single GEMM's loop order
    comes with its member (``order`` is ignored); ``sequential`` is each GEMM's pick one
    after the other; ``only-interleaving`` each GEMM's pick for a quarter of the SPM, in
    its natural loop order; a fused order shares one member of the fused family."""
    budget = search.target.spm_bytes // 2
    cand = _analytic(search, layers, computations, order, partition, context, budget)
    for _ in range(ANALYTIC_REFITS):
        if cand.estimate is not None:
            break
        budget = budget * 7 // 8
        cand = _analytic(search, layers, computations, order, partition, context, budget)
    return cand


def _analytic(
    search: Search,
    layers: list[LayerGemm],
    computations: tuple[str, ...],
    order: str,
    partition: Partition,
    context: EvalContext | None,
    budget: int,
) -> Candidate:
    target = search.target
    ext = _box_extent(layers[0], partition)
    dims = {"i": ext["m"], "j": ext["n"], "l": ext["k"]}
    elem, acc = layers[0].dtype.nbytes, acc_dtype(target).nbytes
    rows, cols = target.array_rows, target.array_cols
    smallest = Tiling(1, 1, 1)

    def single(comp: str, budget: int, loop: str | None = None) -> Candidate:
        cands = [
            search.evaluate(layers, search.schedule((comp,), loop or lp, (t,), partition), context)
            for t, lp in analytic.gemm_family(dims, comp, rows, cols, elem, acc, budget)
        ]
        if not cands:
            loop = loop or NATURAL_ORDER[comp]
            fallback = search.schedule((comp,), loop, (smallest,), partition)
            cands = [search.evaluate(layers, fallback, context)]
        return best_of(cands)

    if len(computations) == 1:
        return single(computations[0], budget)
    if order == "sequential":
        dx, dw = (single(c, budget).schedule for c in ("dx", "dw"))
        seq = search.schedule(
            computations, order, (dx.tilings[0], dw.tilings[0]), partition, (dx.order, dw.order)
        )
        return search.evaluate(layers, seq, context)
    if order == "only-interleaving":
        dx, dw = (single(c, budget // 2, NATURAL_ORDER[c]).schedule for c in ("dx", "dw"))
        pair = search.schedule(computations, order, (dx.tilings[0], dw.tilings[0]), partition)
        return search.evaluate(layers, pair, context)
    tilings = analytic.fused_family(dims, rows, cols, elem, acc, budget) or [smallest]
    return best_of(
        [
            search.evaluate(
                layers, search.schedule(computations, order, (t, t), partition), context
            )
            for t in tilings
        ]
    )


def paper_order(m: int, n: int, k: int) -> str:
    """Algorithm 1 of the paper: the order from the layer's dimensions alone."""
    if max(m, n, k) / min(m, n, k) < 4:
        return "only-interleaving"
    if k > n and k > m:
        return "dw-major"
    return "dx-major"
