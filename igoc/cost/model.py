"""The cost model: a schedule's exact DRAM traffic and its estimated cycles, without simulating.

Traffic is exact: it is the planner's own accounting (``plan_traffic``) of the
very movements the lowering emits. Cycles come from a step-level pipeline that
follows the simulator's rules at the granularity of tile steps instead of
instructions:

- step ``s``'s loads go on the DRAM channel once the tiles they replace are no
  longer read — no later than the end of step ``s-2``'s compute (double
  buffering) — and the channel moves ``dram_bytes_per_cycle`` (a core's fair
  share when several cores stream at once);
- step ``s``'s matmuls start when step ``s-1``'s are done and the loads' data
  has arrived (``dram_latency_cycles`` after the transfer);
- the stores of the tiles step ``s`` completes follow its compute on the same
  channel.

Under the target's ``overlap = "serial"`` (the ablation in which a core runs one
instruction at a time) the simulator's time is simply the sum of the instructions'
durations: a DMA's transfer plus ``dram_latency_cycles``, a matmul's cycles. The
estimate is that sum, which is the simulator's figure exactly on one core (with
several, they share the channel by the same equal split as above, and wait at
barriers, which the estimate leaves out).

It is orders of magnitude cheaper than the simulator, and its error against it
is a reported number (``igoc.bench.costmodel_accuracy``).

``estimate_plan`` estimates a planned walk; ``estimate_schedule`` a schedule as
cheaply as ranking candidates needs (one core for its peers, long walks from two
prefixes); ``item_estimates`` what lowering records of each item of a core.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from igoc.isa.cycles import matmul_cycles
from igoc.schedule.emit import EmitContext, moved_bytes
from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES, Access, LayerGemm, layers_key
from igoc.schedule.layer_schedule import (
    LayerSchedule,
    core_step_count,
    core_steps,
    core_walk,
    core_walk_key,
    window_bytes,
)
from igoc.schedule.planner import Plan, PlanError, plan_schedule
from igoc.schedule.program import (
    ConvertMark,
    CopyMark,
    CorePlan,
    Item,
    LayerWalks,
    Lowered,
    PlanCycles,
    TensorSpec,
    ZeroMark,
    convert_traffic,
    copy_blocks,
    copy_traffic,
    plan_core,
    zero_traffic,
)
from igoc.schedule.steps import Matmul
from igoc.target import Target


@dataclass
class Estimate:
    """What the cost model predicts for one core's plan (or a whole layer)."""

    cycles: float
    traffic: dict[str, list[int]] = field(default_factory=dict)  # tensor -> [read, write]
    compute_cycles: int = 0
    macs: int = 0

    @property
    def dram_bytes(self) -> int:
        """All bytes read and written."""
        return sum(r + w for r, w in self.traffic.values())


def estimate_plan(plan: Plan, ctx: EmitContext, target: Target, sharing_cores: int = 1) -> Estimate:
    """Traffic and cycles of one core running ``plan``.

    ``sharing_cores``: how many cores stream from DRAM at the same time (each gets
    an equal share of the channel).
    """
    bytes_per_cycle = target.dram_bytes_per_cycle / max(1, sharing_cores)
    latency = target.dram_latency_cycles
    traffic: dict[str, list[int]] = {}
    psum_dtype = ctx.psum_dtype
    # The array cycles of a matmul, by its shape (a walk has a few shapes).
    shapes: dict[tuple[int, int, int], int] = {}

    def move(actions) -> int:
        total = 0
        for kind, residency in actions:
            name, read, write = moved_bytes(kind, residency.key, psum_dtype)
            if not (read or write):
                continue
            entry = traffic.get(name)
            if entry is None:
                entry = traffic[name] = [0, 0]
            entry[0] += read
            entry[1] += write
            total += read + write
        return total

    def compute(step: tuple[Matmul, ...]) -> tuple[int, int]:
        cycles = macs = 0
        for mm in step:
            shape = (mm.m, mm.k, mm.n)
            found = shapes.get(shape)
            if found is None:
                found = shapes[shape] = matmul_cycles(mm.m, mm.k, mm.n, target)
            cycles += found
            macs += mm.m * mm.k * mm.n
        return cycles, macs

    compute_total = 0
    macs = 0
    before, after = plan.before, plan.after
    if target.overlap == "serial":
        total = 0.0
        for s, step in enumerate(plan.steps):
            step_bytes = move(before[s]) + move(after[s])
            dmas = len(before[s]) + len(after[s])  # one DMA instruction each
            cycles, step_macs = compute(step)
            compute_total += cycles
            macs += step_macs
            total += step_bytes / bytes_per_cycle + dmas * latency + cycles
        return Estimate(total, traffic, compute_total, macs)

    channel = 0.0  # when the channel is next free
    compute_end: list[float] = []
    pending_store = 0  # bytes of stores waiting for the channel
    pending_ready = 0.0
    previous = 0.0  # when the previous step's compute ends
    for s, step in enumerate(plan.steps):
        gate = compute_end[s - 2] if s >= 2 else 0.0
        load_bytes = move(before[s]) if before[s] else 0
        start = max(channel, gate)
        channel = start + load_bytes / bytes_per_cycle
        data_ready = channel + latency if load_bytes else 0.0
        if pending_store:
            channel = max(channel, pending_ready) + pending_store / bytes_per_cycle
            pending_store = 0
        cycles, step_macs = compute(step)
        macs += step_macs
        compute_total += cycles
        previous = max(previous, data_ready) + cycles
        compute_end.append(previous)
        store_bytes = move(after[s]) if after[s] else 0
        if store_bytes:
            pending_store += store_bytes
            pending_ready = previous
    end = compute_end[-1] if compute_end else 0.0
    if pending_store:
        channel = max(channel, pending_ready) + pending_store / bytes_per_cycle
        end = max(end, channel + latency)
    return Estimate(end, traffic, compute_total, macs)


def step_compute(step: tuple[Matmul, ...], target: Target) -> tuple[int, int]:
    """The array cycles and the multiply-accumulates of a step's matmuls."""
    cycles = macs = 0
    for mm in step:
        cycles += matmul_cycles(mm.m, mm.k, mm.n, target)
        macs += mm.m * mm.k * mm.n
    return cycles, macs


def scale(estimate: Estimate, times: int) -> Estimate:
    """The estimate of ``times`` equal, independent repetitions run one after another."""
    return Estimate(
        cycles=estimate.cycles * times,
        traffic={name: [r * times, w * times] for name, (r, w) in estimate.traffic.items()},
        compute_cycles=estimate.compute_cycles * times,
        macs=estimate.macs * times,
    )


def plan_cycles(target: Target) -> PlanCycles:
    """``program.plan_core``'s measure of a plan: its estimated cycles with every core of
    ``target`` streaming at once."""
    return lambda plan, ctx: estimate_plan(plan, ctx, target, target.cores).cycles


def plan_program(
    target: Target,
    tensors: list[TensorSpec],
    cores: list[list[Item]],
    walks: LayerWalks | None = None,
) -> Lowered:
    """Plan every core's items, as the lowering does (this model chooses between a walk's two
    plans, ``plan_cycles``); ``walks``: see ``program.plan_core``."""
    measure = plan_cycles(target)
    plans = [plan_core(target, core, items, measure, walks) for core, items in enumerate(cores)]
    return Lowered(target, tensors, cores, plans)


def item_estimates(
    core_plan: CorePlan, items: list[Item], target: Target, sharing_cores: int
) -> list[Estimate]:
    """The cost model's view of each item of a planned core (zero for barriers); remembered on
    the core plan (``CorePlan.estimates``), by target and sharing cores, for these items."""
    memo = core_plan.estimates
    found = memo.get((target, sharing_cores))
    if found is not None and found[0] == items:
        return found[1]
    out = []
    share = target.dram_bytes_per_cycle / max(1, sharing_cores)
    for item, (index, first, end) in zip(items, core_plan.where, strict=True):
        if isinstance(item, CopyMark | ConvertMark | ZeroMark):
            core = core_plan.core
            if isinstance(item, CopyMark):
                traffic = copy_traffic(item, core, target)
                dmas = 2 * len(copy_blocks(item, core, target))  # a gather or load, a store
            elif isinstance(item, ZeroMark):
                traffic = zero_traffic(item, core)
                dmas = len(item.blocks(core))
            else:
                traffic = convert_traffic(item, core, target)
                dmas = 2 * len(item.blocks(core, target.spm_bytes))
            moved = sum(r + w for r, w in traffic.values())
            # Streamed through two buffers, the DMAs overlap their latencies; one at a
            # time, each pays its own.
            waits = dmas if target.overlap == "serial" else 1
            out.append(Estimate(moved / share + waits * target.dram_latency_cycles, traffic))
            continue
        if index < 0 or index >= len(core_plan.plans):
            out.append(Estimate(0.0))
            continue
        plan = core_plan.plans[index].window(first, end)
        out.append(estimate_plan(plan, core_plan.ctx, target, sharing_cores))
    memo[(target, sharing_cores)] = (list(items), out)
    return out


# ---- ranking schedules -------------------------------------------------------------------------

SAMPLE_STEPS = 384
"""Walks longer than this are estimated from two prefixes instead of planned whole."""

FinalStores = dict[tuple, dict[str, list[int]]]
"""Remembered final stores (``final_store_bytes``), kept by the caller (the search)."""


WalkEstimates = dict[tuple, "Estimate | PlanError"]
"""Remembered estimates of planned walks (or why they do not fit), kept by the caller (the
search): keyed by what the walk's plan depends on (``_Walk``), not by the schedule, since
schedules that differ only in the loop order of indices cut into one tile, or in other
cores' boxes, walk alike on the core that is planned (and more:
``layer_schedule.core_walk_key``)."""

WALK_ESTIMATES_LIMIT = 1 << 15
"""Walk estimates remembered; when full, the older half is forgotten."""


class _Walk:
    """The steps of one core's walk of a schedule (after a context's), made when first
    needed, and the estimates of its prefixes (remembered in ``walks``)."""

    def __init__(
        self,
        layers: list[LayerGemm],
        schedule: LayerSchedule,
        core: int,
        context: tuple[list[LayerGemm], LayerSchedule] | None,
        total: int,
        partial: set[str],
        sharing: int,
        window: int | None,
        target: Target,
        walks: WalkEstimates | None,
    ) -> None:
        self.layers, self.schedule, self.core, self.context = layers, schedule, core, context
        self.total, self.partial, self.sharing, self.window = total, partial, sharing, window
        self.target, self.walks = target, walks
        self.steps: list[tuple[Matmul, ...]] | None = None
        self.before: list[tuple[Matmul, ...]] = []
        self.key: tuple | None = None  # what the plan depends on but the steps
        if walks is not None:
            self.key = (
                None if context is None else core_walk_key(context[0], context[1], core),
                tuple(sorted(partial)),
                core,
                sharing,
                window,
            )

    def estimate(self, length: int | None) -> Estimate:
        """The estimate of the first ``length`` steps (None: all), planned after the
        context's; raises ``PlanError`` if they do not fit."""
        key = None
        if self.walks is not None:
            key = (core_walk_key(self.layers, self.schedule, self.core, length), self.key)
            found = self.walks.get(key)
            if isinstance(found, PlanError):
                raise PlanError(str(found), found.needed_bytes)
            if found is not None:
                return found
        if self.steps is None:
            limit = SAMPLE_STEPS if self.total > SAMPLE_STEPS else None
            self.steps = core_steps(self.layers, self.schedule, self.core, limit)
            if self.context is not None:
                self.before = core_steps(self.context[0], self.context[1], self.core)
        steps = self.steps if length is None else self.steps[:length]
        try:
            est = _steps_estimate(
                steps,
                self.before,
                self.target,
                self.partial,
                self.core,
                self.sharing,
                self.window,
            )
        except PlanError as err:
            self._remember(key, err)
            raise
        self._remember(key, est)
        return est

    def _remember(self, key: tuple | None, value: Estimate | PlanError) -> None:
        if key is None or self.walks is None:
            return
        if len(self.walks) >= WALK_ESTIMATES_LIMIT:
            for old in list(itertools.islice(self.walks, WALK_ESTIMATES_LIMIT // 2)):
                del self.walks[old]
        self.walks[key] = value


def _steps_estimate(
    steps: list[tuple[Matmul, ...]],
    before: list[tuple[Matmul, ...]],
    target: Target,
    partial: set[str],
    core: int,
    sharing: int,
    window: int | None = None,
) -> Estimate:
    """Plan ``before + steps`` (with reuse ``window``) and estimate the ``steps`` part."""
    ctx = EmitContext.of(target, core)
    plan = plan_schedule(
        before + steps, ctx.tile_bytes, target.spm_bytes, lambda t: t in partial, None, window
    )
    if before:
        plan = plan.window(len(before))
    return estimate_plan(plan, ctx, target, sharing)


def final_store_bytes(
    layers: list[LayerGemm],
    schedule: LayerSchedule,
    core: int,
    ctx: EmitContext,
    partial: set,
    memo: FinalStores | None = None,
) -> dict[str, list[int]]:
    """Per output tensor, the bytes ``[read, write]`` of the final stores of every accumulator
    a core's walk has (each accumulator tile is stored once, when its last matmul is done),
    and how many stores (DMAs) that is: ``[read, write, stores]``.

    Remembered in ``memo``: they depend on the tiles and the boxes, not on the loop
    order, and a search estimates every order at the same tiles.
    """
    key = (
        layers_key(layers),
        schedule.computations,
        schedule.tilings,
        schedule.partition,
        core,
        tuple(sorted(partial)),
        ctx.psum_dtype,
    )
    found = None if memo is None else memo.get(key)
    if found is None:
        found = _walk_final_store_bytes(layers, schedule, core, ctx, partial)
        if memo is not None:
            if len(memo) >= 4096:
                memo.clear()
            memo[key] = found
    return {name: list(bytes_) for name, bytes_ in found.items()}


def _walk_final_store_bytes(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int, ctx: EmitContext, partial: set
) -> dict[str, list[int]]:
    # Each accumulator tile once, in the order the walk first reaches it; tiles are told
    # apart by a number for their access's value and their box (hashing the access itself
    # is a call of its own).
    out: dict[str, list[int]] = {}
    seen: set[tuple[int, int, int, int, int]] = set()
    values: dict[Access, int] = {}
    psum = ctx.psum_dtype
    for phase, layer in core_walk(layers, schedule, core):
        for segment in phase:
            for name in segment.computations:
                acc = COMPUTATIONS[name].acc
                rows_index, cols_index = ROLE_INDICES[acc]
                access = layer.accesses[acc]
                value = values.setdefault(access, len(values))
                kind = "store_acc" if access.tensor in partial else "store"
                (r_lo, r_hi), (c_lo, c_hi) = (
                    segment.box.range(rows_index),
                    segment.box.range(cols_index),
                )
                tr, tc = segment.tiling.size(rows_index), segment.tiling.size(cols_index)
                for r0 in range(r_lo, r_hi, tr):
                    rows = min(tr, r_hi - r0)
                    for c0 in range(c_lo, c_hi, tc):
                        cols = min(tc, c_hi - c0)
                        tile = (value, r0, c0, rows, cols)
                        if tile in seen:
                            continue
                        seen.add(tile)
                        tensor, read, write = moved_bytes(
                            kind, (access, True, r0, c0, rows, cols), psum
                        )
                        entry = out.get(tensor)
                        if entry is None:
                            entry = out[tensor] = [0, 0, 0]
                        entry[0] += read
                        entry[1] += write
                        entry[2] += 1
    return out


def estimate_schedule(
    layers: list[LayerGemm],
    schedule: LayerSchedule,
    target: Target,
    context: tuple[list[LayerGemm], LayerSchedule] | None = None,
    final_stores: FinalStores | None = None,
    walks: WalkEstimates | None = None,
) -> Estimate:
    """The cost model's estimate of a schedule, as cheaply as ranking candidates needs.

    Cores split the work into equal boxes, so the first core with work is planned and
    stands for the others (its traffic counted once per such core). A walk longer than
    ``SAMPLE_STEPS`` is estimated from two prefixes, of n and 2n steps: the first's
    estimate, plus what each further step added between them, times the steps left;
    accumulators stored only at the end of the walk (their reduction spans it) are
    added at their exact final-store bytes (remembered in ``final_stores``). A
    ``context`` layer is planned just before. The lowering plans every core's whole
    walk exactly (``program.plan_core``); this ranks schedules. The estimates of the walks
    planned are remembered in ``walks`` (``WalkEstimates``).
    """
    partial = {
        layer.accesses[role].tensor for layer in layers for role in schedule.partial_roles(layer)
    }
    if context is not None:
        partial |= {
            layer.accesses[role].tensor
            for layer in context[0]
            for role in context[1].partial_roles(layer)
        }
    if (
        schedule.order == "sequential"
        and len(schedule.computations) == 2
        and core_step_count(layers, schedule, 0) > SAMPLE_STEPS
    ):
        # Long: each GEMM on its own, one after the other.
        first, second = (
            estimate_schedule(
                layers,
                LayerSchedule(
                    (c,), loop, (t,), schedule.partition, None, schedule.tiler, schedule.reuse
                ),
                target,
                context if i == 0 else None,
                final_stores,
                walks,
            )
            for i, (c, t, loop) in enumerate(
                zip(schedule.computations, schedule.tilings, schedule.loop_orders(), strict=True)
            )
        )
        traffic = {k: list(v) for k, v in first.traffic.items()}
        for name, (r, w) in second.traffic.items():
            entry = traffic.setdefault(name, [0, 0])
            entry[0] += r
            entry[1] += w
        return Estimate(
            first.cycles + second.cycles,
            traffic,
            first.compute_cycles + second.compute_cycles,
            first.macs + second.macs,
        )
    boxes = len(schedule.partition.boxes(layers[0]))
    working = sorted({p % schedule.partition.cores for p in range(boxes)})
    if not working:
        return Estimate(0.0)
    core = working[0]
    total = core_step_count(layers, schedule, core)
    sharing = len(working)
    window = window_bytes(schedule.reuse, target.spm_bytes)
    walk = _Walk(layers, schedule, core, context, total, partial, sharing, window, target, walks)
    if total <= SAMPLE_STEPS:
        est = walk.estimate(None)
    else:
        half = SAMPLE_STEPS // 2
        short = walk.estimate(half)
        long = walk.estimate(2 * half)
        rest = (total - half) / half
        traffic: dict[str, list[int]] = {}
        for name in set(short.traffic) | set(long.traffic):
            a = short.traffic.get(name, [0, 0])
            b = long.traffic.get(name, [0, 0])
            traffic[name] = [round(a[i] + rest * (b[i] - a[i])) for i in range(2)]
        cycles = short.cycles + rest * (long.cycles - short.cycles)
        ctx = EmitContext.of(target, core)
        finals = final_store_bytes(layers, schedule, core, ctx, partial, final_stores)
        waits = target.dram_latency_cycles if target.overlap == "serial" else 0
        for name, (read, write, stores) in finals.items():
            if long.traffic.get(name, [0, 0])[1] == 0:  # stored only at the very end
                entry = traffic.setdefault(name, [0, 0])
                entry[0] += read
                entry[1] += write
                cycles += (read + write) / (target.dram_bytes_per_cycle / sharing)
                cycles += stores * waits  # one at a time, each store pays the latency
        compute = round(short.compute_cycles + rest * (long.compute_cycles - short.compute_cycles))
        macs = round(short.macs + rest * (long.macs - short.macs))
        est = Estimate(max(cycles, compute), traffic, compute, macs)
    if sharing > 1:
        est = Estimate(
            est.cycles,
            {name: [r * sharing, w * sharing] for name, (r, w) in est.traffic.items()},
            est.compute_cycles,
            est.macs * sharing,
        )
    return est
