"""Schedule decisions for whole ops: the pure functions behind tile, select-order and partition.

Each decision takes a layer (``LayerDesc``), the target and a policy, and gives
a schedule plus the candidates it weighed, each with its estimated DRAM bytes
and cycles — the passes record both in the IR. Decisions depend only on a
layer's shapes, never on its tensor names, so equal layers (a network repeats
many) share one cached decision.

Policies of ``select-order`` (ops with both gradients):
  ``cost`` — every order (``schedule.INTERLEAVED_ORDERS``), each with its best
  tiles, ranked by the cost model; ``sequential`` is the baseline's own
  schedule, so ``cost`` never picks anything the cost model ranks worse;
  ``paper`` — Algorithm 1 of the paper (from M, N, K alone), with the best tiles
  for that order; ``exhaustive`` — every candidate of ``cost``, simulated;
  ``paper-oracle`` — the paper's per-layer oracle: its three orders
  (``PAPER_ORDERS``), each with its best tiles, simulated, the fastest kept (no
  ``sequential``, and none left out for reading dY more); or the name of one
  order. An op with one GEMM always gets its best loop order and tiles
  (``cost``; simulated under ``exhaustive`` and ``paper-oracle``).

Policies of ``partition``: ``cost``, ``exhaustive``, or a fixed dimension
``m``, ``n``, ``k`` (split across the cores, the baseline's batch split is
``m``) or ``none``. ``cost`` also weighs the baseline's own schedule of the op,
and keeps the partition the order came with unless another is faster (by the
same rules as below, with that schedule in the baseline's place).

The ``cost`` and ``exhaustive`` policies never pick a *conventional* schedule (its GEMMs
one after the other, at the conventional partition: one the baseline could make) that
reads the layer's dY from DRAM more than the baseline's schedule does (such candidates
are listed with ``reads_more_dy = true``): such a schedule is the baseline's kind of
schedule with worse tiles, and a gain from it would be the tiling's, not interleaving's.
A schedule that interleaves the two GEMMs, or splits the op into parts (the
``partition`` pass's splits, which run the parts one after another, each its own dX
and dW, so that the two GEMMs alternate), is not one the baseline makes (these are
IGO's techniques): it is weighed by its time alone, whatever it reads. Where dY's
second read is small beside the re-reads of X and W that a small SPM forces, an
interleaved order can read dY more than the baseline's schedule and still move fewer
bytes or overlap better (on ViT-B/16's ``mlp_fc1`` on ``edge``, ``igo`` reads dY
almost five times where the baseline reads it twice, and runs 15% faster).
When ``sequential`` itself is one of them (its tiles, searched again where the op
runs, read dY more than the baseline's own schedule), the baseline's own schedule
is weighed there too (listed last, with ``baseline_schedule = true``) and takes its
place as the schedule to beat.
``cost`` keeps the baseline's schedule unless another is faster: on ops short
enough to simulate in a moment (``CONFIRM_STEPS``) the simulator decides between
it and the two fastest others by the estimate (two the cost model tells apart,
each estimated within ``COST_MARGIN`` of it); on longer ones another must be
estimated faster by more than ``COST_MARGIN``, the cost model's own error.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from igoc.cost.search import (
    Candidate,
    EvalContext,
    Search,
    TileSearch,
    best_of,
    interleaved_candidates,
    paper_order,
    single_candidates,
    step_bytes,
)
from igoc.schedule.describe import LayerDesc
from igoc.schedule.layer_schedule import (
    INTERLEAVED_ORDERS,
    NATURAL_ORDER,
    LayerSchedule,
    Partition,
    core_step_count,
)
from igoc.schedule.planner import PlanError
from igoc.target import Target

ORDER_POLICIES = ("cost", "paper", "exhaustive", "paper-oracle", *INTERLEAVED_ORDERS)

PAPER_ORDERS = ("only-interleaving", "dx-major", "dw-major")
"""The three orders of the paper's §4 (Algorithm 1 picks one; its oracle simulates all three)."""
PARTITION_POLICIES = ("cost", "exhaustive", "m", "n", "k", "none")

COST_MARGIN = 0.05
"""How much faster than the baseline's schedule, by the cost model's estimate, another must
be to be chosen instead: about the cost model's error (``igoc.bench.costmodel_accuracy``), so
that igoc leaves an op as it is unless interleaving clearly pays. On ops small enough to
simulate (``CONFIRM_STEPS``) it is the other way round: a schedule estimated up to this much
slower than the baseline's may still be faster, and the simulator is asked."""

Context = tuple[LayerDesc, LayerSchedule]
"""A layer that runs just before the one being decided, whose data may still be in SPM."""


def _context_signature(desc: LayerDesc, context: Context | None) -> tuple | None:
    """What of a context matters to a decision: its shapes, schedule and shared tensors."""
    if context is None:
        return None
    other, schedule = context
    shared = tuple(
        sorted(
            (mine, theirs)
            for mine, name in desc.tensors.items()
            for theirs, other_name in other.tensors.items()
            if name == other_name
        )
    )
    return (other.signature(), schedule, shared)


def layer_context(descs: list[LayerDesc], index: int, capacity_bytes: int) -> int | None:
    """The latest layer before ``index`` (``descs`` in training order) whose data may still be
    in SPM.

    That is the latest earlier layer sharing a DRAM tensor with this one, provided that
    the distinct tensors of every layer from it to this one fit in ``capacity_bytes``
    together (otherwise whatever they shared has been evicted in between).
    """
    mine = set(descs[index].tensors.values())
    seen: dict[str, int] = {}
    for j in range(index, -1, -1):
        desc = descs[j]
        for role, name in desc.tensors.items():
            seen.setdefault(name, math.prod(desc.shapes[role]) * desc.dtype.nbytes)
        if sum(seen.values()) > capacity_bytes:
            return None
        if j < index and mine & set(desc.tensors.values()):
            return j
    return None


def fused_context(
    descs: list[LayerDesc],
    index: int,
    capacity_bytes: int,
    schedule_of: Callable[[int], LayerSchedule | None],
) -> Context | None:
    """For a fused op, the earlier layer its candidates are weighed after (``layer_context``),
    with that layer's schedule (``schedule_of(j)``, None if it has none yet); None for a
    single GEMM, which is weighed alone as the baseline weighs it, so that a fused op's
    ``sequential`` candidate is the baseline's."""
    if len(descs[index].computations) != 2:
        return None
    j = layer_context(descs, index, capacity_bytes)
    if j is None:
        return None
    before = schedule_of(j)
    return None if before is None else (descs[j], before)


def has_context(descs: list[LayerDesc], index: int, capacity_bytes: int) -> bool:
    """Whether op ``index`` is decided after an earlier op's schedule (``fused_context``);
    the others can be decided in any order (``igoc.cost.parallel``)."""
    return len(descs[index].computations) == 2 and (
        layer_context(descs, index, capacity_bytes) is not None
    )


def _eval_context(context: Context | None) -> EvalContext | None:
    """A decision's context as the searches estimate with it: its GEMMs and schedule."""
    return None if context is None else (context[0].layers(), context[1])


def default_partition(target: Target) -> Partition:
    """The conventional split: the batch (M) across the cores, nothing on one core."""
    return Partition("m", target.cores, target.cores) if target.cores > 1 else Partition()


def describe_candidate(c: Candidate, cycles_key: str = "cycles") -> dict:
    """A candidate as a small dictionary for the IR dump."""
    s = c.schedule
    out: dict = {"order": s.order, "tile": [[t.m, t.n, t.k] for t in s.tilings]}
    if str(s.partition) != "none":
        out["partition"] = str(s.partition)
    if c.estimate is None:
        out["fits"] = False
    else:
        out["dram_bytes"] = c.estimate.dram_bytes
        out[cycles_key] = int(round(c.estimate.cycles))
    return out


def _simulated(
    search: Search, desc: LayerDesc, candidates: list[Candidate], context: Context | None
) -> list[dict]:
    rows = []
    for c in candidates:
        row = describe_candidate(c)
        if c.estimate is not None:
            cycles = _simulated_cycles(search, desc, c.schedule, context)
            if cycles is None:
                row["fits_every_core"] = False
            else:
                row["simulated_cycles"] = cycles
        rows.append(row)
    return rows


def baseline_candidate(
    search: Search, desc: LayerDesc, context: EvalContext | None = None
) -> Candidate:
    """The conventional schedule of an op: its GEMMs one after another, each at its best,
    the batch split across the cores."""
    layers = desc.layers()
    part = default_partition(search.target)
    if len(desc.computations) == 1:
        return best_of(single_candidates(search, layers, desc.computations[0], part, context))
    return interleaved_candidates(search, layers, part, ("sequential",), context=context)[0]


def baseline_schedule(search: Search, desc: LayerDesc) -> LayerSchedule:
    """The baseline's schedule of an op (``baseline_candidate``, weighed alone), remembered."""
    key = ("baseline", desc.signature(), search.target)
    return search.decided(key, lambda: baseline_candidate(search, desc).schedule)


def dy_read_bytes(desc: LayerDesc, cand: Candidate) -> int:
    """DRAM bytes a candidate reads from the layer's dY (0 if it has none)."""
    access = desc.layers()[0].accesses.get("dY")
    if access is None or cand.estimate is None:
        return 0
    return cand.estimate.traffic.get(access.tensor, [0, 0])[0]


def _bound_dy(
    search: Search, desc: LayerDesc, cands: list[Candidate], rows: list[dict], baseline: Candidate
) -> None:
    """Mark conventional candidates (``conventional``) that read dY more than the baseline
    does, alone or where it runs: the cost policies skip them (the baseline's kind of
    schedule, with worse tiles; see the module's docstring)."""
    alone = baseline_candidate(search, desc)
    limit = min(dy_read_bytes(desc, baseline), dy_read_bytes(desc, alone))
    for cand, row in zip(cands, rows, strict=True):
        if (
            cand.estimate is not None
            and conventional(cand.schedule, search.target)
            and dy_read_bytes(desc, cand) > limit
        ):
            row["reads_more_dy"] = True


def conventional(schedule: LayerSchedule, target: Target) -> bool:
    """Whether a schedule is one the baseline could make: its GEMMs one after the other
    (``sequential``, or an op with one GEMM), at the conventional partition."""
    return schedule.partition == default_partition(target) and (
        schedule.order == "sequential" or len(schedule.computations) == 1
    )


def _pick(
    candidates: list[Candidate],
    rows: list[dict],
    simulated: bool,
    keep: LayerSchedule | None = None,
    confirm=None,
) -> LayerSchedule:
    """The fastest candidate (simulated), or under the cost model ``best_of`` them.

    With ``keep`` among them (the baseline's schedule; for ``partition``, the one the order
    came with), that one is kept unless another is faster: for ops small enough
    (``confirm``), the simulator decides between it and the two fastest others by the
    estimate (any estimated within ``COST_MARGIN`` of it, the cost model's error, and the
    second unlike the first to the cost model); for the rest, the pick must be estimated
    faster by ``COST_MARGIN``.
    """
    fitting = [
        (c, r)
        for c, r in zip(candidates, rows, strict=True)
        if c.estimate is not None and not r.get("reads_more_dy") and r.get("fits_every_core", True)
    ]
    if not fitting:
        raise ValueError("no candidate fits")
    if simulated:
        return min(fitting, key=lambda cr: (cr[1]["simulated_cycles"], cr[0].rank))[0].schedule
    best = best_of([c for c, _ in fitting])
    kept = [(c, r) for c, r in fitting if c.schedule == keep]
    if not kept:
        return best.schedule
    base, base_row = kept[0]
    limit = base.estimate.cycles  # type: ignore[union-attr]
    near = sorted(
        (
            (c, r)
            for c, r in fitting
            if c.schedule != keep and c.estimate.cycles < (1 + COST_MARGIN) * limit  # type: ignore[union-attr]
        ),
        key=lambda cr: cr[0].rank,
    )
    if not near:
        return base.schedule
    if confirm is not None:
        contenders = [next((cr for cr in near if cr[0] is best), near[0])]
        for cr in near:
            if len(contenders) == CONTENDERS:
                break
            if not any(_looks_alike(cr[0], other) for other, _ in contenders):
                contenders.append(cr)
        measured = confirm(base, [c for c, _ in contenders])
        if measured is not None:
            # None: the schedule does not fit the SPM where the program runs it (the estimate
            # plans one group of the first core's walk; the simulation, the whole program)
            for row, cycles in zip((base_row, *(r for _, r in contenders)), measured, strict=True):
                if cycles is None:
                    row["fits_every_core"] = False
                else:
                    row["simulated_cycles"] = cycles
            fitting_ones = [(c, n) for (c, _), n in zip(contenders, measured[1:], strict=True)]
            fitting_ones = [(c, n) for c, n in fitting_ones if n is not None]
            if not fitting_ones:
                return base.schedule  # the lowering says so if it does not fit either
            cand, cycles = min(fitting_ones, key=lambda cn: cn[1])
            if measured[0] is None or cycles < measured[0]:
                return cand.schedule
            return base.schedule
    if best.schedule == keep or best.estimate.cycles > (1 - COST_MARGIN) * limit:  # type: ignore[union-attr]
        return base.schedule
    return best.schedule


def _looks_alike(a: Candidate, b: Candidate) -> bool:
    """True if the cost model cannot tell two candidates apart: the same partition and tiles,
    the same estimated cycles and DRAM bytes. Orders often coincide so (a dimension that fits
    one tile leaves nothing for the order to change: with M in one tile, ``dx-major``,
    ``dw-major`` and the fused loop orders walk the same steps); the simulator learns
    nothing from a second of them."""
    ea, eb = a.estimate, b.estimate
    return (
        a is b
        or ea is not None
        and eb is not None
        and a.schedule.partition == b.schedule.partition
        and a.schedule.tilings == b.schedule.tilings
        and ea.cycles == eb.cycles
        and ea.dram_bytes == eb.dram_bytes
    )


CONTENDERS = 2
"""How many schedules the simulator weighs against the baseline's on an op small enough
(each unlike the others to the cost model, see ``_looks_alike``)."""

CONFIRM_STEPS = 4096
"""Ops whose schedules (the baseline's and the contenders) walk at most this many steps
together are cheap to simulate: there the ``cost`` policy lets the simulator decide whether
a schedule that may be faster than the baseline's (estimated within ``COST_MARGIN`` of it)
is faster, with no margin (small ops are where the estimate errs most: latency and fill
and drain dominate them, and one step of tiles that span a whole dimension overlaps its
loads and compute more finely than the step-level model sees)."""


def _confirmer(search: Search, desc: LayerDesc, context: Context | None):
    """``confirm`` for ``_pick``: the simulated cycles of the schedule to keep and of each
    contender, or None when the op is too long to simulate here."""

    def confirm(base: Candidate, contenders: list[Candidate]) -> list[int | None] | None:
        layers = desc.layers()
        steps = sum(core_step_count(layers, c.schedule, 0) for c in (base, *contenders))
        if steps > CONFIRM_STEPS:
            return None
        return [_simulated_cycles(search, desc, c.schedule, context) for c in (base, *contenders)]

    return confirm


def _simulated_cycles(
    search: Search, desc: LayerDesc, schedule: LayerSchedule, context: Context | None
) -> int | None:
    """The simulated cycles of an op under ``schedule``; None if it does not fit the SPM."""
    try:
        return search.simulated(desc, schedule, context)
    except PlanError:
        return None


def initial_schedule(search: Search, desc: LayerDesc) -> tuple[LayerSchedule, list[dict]]:
    """The ``tile`` pass: each op's natural order (``only-interleaving`` when fused) and the
    largest aligned tiles, equal along M, N and K as far as the dimensions allow, whose step
    fits twice in SPM. No search: ``select-order`` searches tiles per order."""
    target = search.target
    key = ("tile", desc.signature(), target)

    def compute():
        layers = desc.layers()
        part = default_partition(target)
        if len(desc.computations) == 1:
            comp = desc.computations[0]
            tiles = TileSearch(search, layers, (comp,), NATURAL_ORDER[comp], part)
        else:
            tiles = TileSearch(search, layers, desc.computations, "only-interleaving", part)
        if search.tiler == "analytic":
            cand = tiles.quick()
            if cand.estimate is None:
                raise ValueError(_no_fit(desc, cand, target))
            return cand.schedule, []
        point = tiles.balanced()
        if not tiles.fits(point):
            cand = search.evaluate(layers, tiles.schedule(point))
            if cand.estimate is None:
                raise ValueError(_no_fit(desc, cand, target))
        return tiles.schedule(point), []

    return search.decided(key, compute)


def select_order(
    search: Search,
    desc: LayerDesc,
    policy: str,
    partition: Partition | None = None,
    context: Context | None = None,
) -> tuple[LayerSchedule, list[dict]]:
    """The ``select-order`` pass's decision for one op (``context``: see ``Context``)."""
    if policy not in ORDER_POLICIES:
        raise ValueError(f"unknown policy {policy!r}; policies: {', '.join(ORDER_POLICIES)}")
    target = search.target
    part = partition or default_partition(target)
    key = ("order", desc.signature(), target, policy, part, _context_signature(desc, context))
    ectx = _eval_context(context)

    def decide():
        layers = desc.layers()
        simulated = policy in ("exhaustive", "paper-oracle")
        if len(desc.computations) == 1:
            cands = single_candidates(search, layers, desc.computations[0], part, ectx)
        elif policy in ("cost", "exhaustive"):
            cands = interleaved_candidates(search, layers, part, context=ectx)
        elif policy == "paper-oracle":
            cands = interleaved_candidates(search, layers, part, PAPER_ORDERS, context=ectx)
        else:
            order = paper_order(*desc.gemm_dims()[:3]) if policy == "paper" else policy
            if order == "sequential":
                cands = interleaved_candidates(search, layers, part, ("sequential",), context=ectx)
            else:
                tiles = TileSearch(search, layers, desc.computations, order, part, ectx)
                cands = [tiles.refine()]
        rows = (
            _simulated(search, desc, cands, context)
            if simulated
            else [describe_candidate(c) for c in cands]
        )
        if all(c.estimate is None for c in cands):
            raise ValueError(_no_fit(desc, min(cands, key=lambda c: -c.needed_bytes), target))
        baseline = None
        if policy in ("cost", "exhaustive") and len(desc.computations) == 2:
            sequential = next(c for c in cands if c.schedule.order == "sequential")
            _bound_dy(search, desc, cands, rows, sequential)
            baseline = sequential.schedule
            if rows[cands.index(sequential)].get("reads_more_dy"):
                # Its tiles, searched again where the op runs, read dY more than the
                # baseline's own schedule does: that one, weighed here, is what the others
                # must beat (without it no schedule the baseline makes would be left).
                own = search.evaluate(layers, baseline_schedule(search, desc), ectx)
                if own.estimate is not None:
                    row = (
                        _simulated(search, desc, [own], context)
                        if simulated
                        else [describe_candidate(own)]
                    )[0]
                    row["baseline_schedule"] = True
                    cands, rows = [*cands, own], [*rows, row]
                    baseline = own.schedule
        confirm = _confirmer(search, desc, context) if policy == "cost" else None
        return _pick(cands, rows, simulated, baseline, confirm), rows

    return search.decided(key, decide)


def _retile(
    search: Search,
    desc: LayerDesc,
    schedule: LayerSchedule,
    partition: Partition,
    context: EvalContext | None = None,
) -> Candidate:
    """The same order on a new partition, with tiles searched again for its boxes."""
    layers = desc.layers()
    if schedule.order != "sequential" or len(schedule.computations) == 1:
        order = schedule.order
        return TileSearch(search, layers, schedule.computations, order, partition, context).refine()
    loops = schedule.loop_orders()
    dx, dw = (
        TileSearch(search, layers, (comp,), loop, partition, context).refine().schedule
        for comp, loop in zip(("dx", "dw"), loops, strict=True)
    )
    seq = search.schedule(
        schedule.computations, "sequential", (dx.tilings[0], dw.tilings[0]), partition, loops
    )
    return search.evaluate(layers, seq, context)


def unsplit_schedule(search: Search, desc: LayerDesc, schedule: LayerSchedule) -> LayerSchedule:
    """The same order at the conventional partition (``default_partition``), its tiles
    searched again; the schedule itself if it has that partition, or the retiled one does
    not fit or is conventional and reads the layer's dY more than the baseline's schedule
    does (the rule every schedule ``cost`` picks keeps)."""
    part = default_partition(search.target)
    if schedule.partition == part:
        return schedule

    def compute():
        cand = _retile(search, desc, schedule, part)
        if cand.estimate is None:
            return schedule
        if not conventional(cand.schedule, search.target):
            return cand.schedule
        limit = dy_read_bytes(desc, baseline_candidate(search, desc))
        return schedule if dy_read_bytes(desc, cand) > limit else cand.schedule

    return search.decided(("unsplit", desc.signature(), search.target, schedule), compute)


def partition_candidates(target: Target, desc: LayerDesc) -> list[Partition]:
    """The partitions ``cost`` weighs: each dimension, in as many parts as the cores, or twice.

    A split across the cores is weighed whenever each part is at least one wide: parts
    narrower than the array leave some of it idle, but every core works, and the cost
    model weighs the one against the other (NCF's layers on eight cores gain from an N
    split whose parts are narrower than half the array). Twice as many parts, two run one
    after the other on each core, are weighed only when each is at least half the array's
    side: parts a core runs in turn gain nothing from being narrower."""
    m, n, k, _ = desc.gemm_dims()
    sizes = {"m": m, "n": n, "k": k}
    out = [default_partition(target)]
    side = min(target.array_rows, target.array_cols)
    for dim in ("m", "n", "k"):
        for factor in (1, 2):
            parts = target.cores * factor
            wide_enough = sizes[dim] >= (parts if factor == 1 else parts * side // 2)
            if parts > 1 and wide_enough:
                cand = Partition(dim, parts, target.cores)
                if cand not in out:
                    out.append(cand)
    return out


def choose_partition(
    search: Search,
    desc: LayerDesc,
    schedule: LayerSchedule,
    policy: str,
    context: Context | None = None,
) -> tuple[LayerSchedule, list[dict]]:
    """The ``partition`` pass's decision for one op, its order kept (``context``: see
    ``Context``)."""
    if policy not in PARTITION_POLICIES:
        raise ValueError(f"unknown policy {policy!r}; policies: {', '.join(PARTITION_POLICIES)}")
    target = search.target
    ectx = _eval_context(context)
    key = (
        "partition",
        desc.signature(),
        target,
        policy,
        schedule,
        _context_signature(desc, context),
    )

    def decide():
        if policy in ("m", "n", "k", "none"):
            dim = None if policy == "none" or target.cores == 1 else policy
            part = Partition(dim, target.cores if dim else 1, target.cores)
            if part == schedule.partition:
                return schedule, []
            cand = _retile(search, desc, schedule, part, ectx)
            if cand.estimate is None:
                raise ValueError(_no_fit(desc, cand, target))
            return cand.schedule, [describe_candidate(cand)]
        cands = []
        for part in partition_candidates(target, desc):
            if part == schedule.partition:
                cands.append(search.evaluate(desc.layers(), schedule, ectx))
            else:
                cands.append(_retile(search, desc, schedule, part, ectx))
        # The baseline's own schedule is a candidate too (weighed here, in context).
        baseline = search.evaluate(desc.layers(), baseline_schedule(search, desc), ectx)
        if all(c.schedule != baseline.schedule for c in cands):
            cands.append(baseline)
        simulated = policy == "exhaustive"
        rows = (
            _simulated(search, desc, cands, context)
            if simulated
            else [describe_candidate(c) for c in cands]
        )
        _bound_dy(search, desc, cands, rows, baseline)
        confirm = _confirmer(search, desc, context) if policy == "cost" else None
        # The order's own partition is the one to keep unless another is faster: under
        # ``cost`` it was chosen against the baseline's schedule already (by the simulator,
        # where the estimate ranks it slower, so the margin here would undo that choice).
        return _pick(cands, rows, simulated, schedule, confirm), rows

    return search.decided(key, decide)


def _no_fit(desc: LayerDesc, cand: Candidate, target: Target) -> str:
    """Why a layer cannot be scheduled: what one step of its smallest tiles needs."""
    tiling = cand.schedule.tilings[0]
    comps = cand.schedule.computations
    if cand.schedule.order == "sequential":
        comps = comps[:1]
    need = max(
        cand.needed_bytes,
        step_bytes(comps, tiling, desc.dtype.nbytes, 4 if target.acc_bytes == 4 else 2),
    )
    return (
        f"layer {desc.name} cannot be scheduled: one step of its smallest tiles "
        f"({tiling.m}x{tiling.n}x{tiling.k}) needs {need / 1024:.1f} KiB of SPM, "
        f"the target has {target.spm_bytes / 1024:.1f} KiB per core"
    )
