"""One layer, one schedule, one target: the steps each core walks, their plans, estimate, emission.

The functions here are the glue between a schedule (``schedule.py``), the
planner, the cost model and the emitter; the passes call them and nothing else.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from igoc.cost.model import Estimate, estimate_plan, merge
from igoc.isa.instructions import DType
from igoc.schedule.emit import EmitContext, ProgramBuilder, emit_plan
from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES, LayerGemm, layers_key
from igoc.schedule.planner import Plan, plan_schedule
from igoc.schedule.schedule import LayerSchedule
from igoc.schedule.steps import Matmul, iter_phase_steps, phase_length
from igoc.target import Target


def acc_dtype(target: Target) -> DType:
    """The element type of accumulators in SPM."""
    return DType.F32 if target.acc_bytes == 4 else DType.F16


def psum_dtype(target: Target) -> DType:
    """The element type of partial sums spilled to DRAM."""
    return DType.F32 if target.psum_bytes == 4 else DType.F16


def _walk(layers: list[LayerGemm], schedule: LayerSchedule, core: int):
    """The phases core ``core`` walks, in order, with their layer."""
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
    """The steps core ``core`` walks: its boxes of the partition, group by group (the first
    ``limit`` of them, if given)."""
    walk = itertools.chain.from_iterable(
        iter_phase_steps(phase, layer) for phase, layer in _walk(layers, schedule, core)
    )
    return list(itertools.islice(walk, limit))


def core_step_count(layers: list[LayerGemm], schedule: LayerSchedule, core: int) -> int:
    """How many steps core ``core`` walks (without making them)."""
    return sum(phase_length(phase) for phase, _ in _walk(layers, schedule, core))


@dataclass
class CorePlan:
    """A core's share of a layer: its plan and the context to emit or cost it."""

    core: int
    plan: Plan
    ctx: EmitContext


def plan_layer(layers: list[LayerGemm], schedule: LayerSchedule, target: Target) -> list[CorePlan]:
    """Plan every core's share of the layer exactly (cores with nothing to do are left out).

    Raises ``igoc.schedule.planner.PlanError`` if a step does not fit the SPM.
    """
    acc = acc_dtype(target)
    partial = {
        layer.accesses[role].tensor for layer in layers for role in schedule.partial_roles(layer)
    }

    def tile_bytes(key, is_acc: bool) -> int:
        return key[4] * key[5] * (acc.nbytes if is_acc else key[0].dtype.nbytes)

    out = []
    for core in range(schedule.partition.cores):
        steps = core_steps(layers, schedule, core)
        if not steps:
            continue
        plan = plan_schedule(steps, tile_bytes, target.spm_bytes, lambda r: r in partial)
        base = core * target.spm_bytes if target.spm_shared else 0
        out.append(CorePlan(core, plan, EmitContext(acc, psum_dtype(target), base)))
    return out


def estimate_layer(core_plans: list[CorePlan], target: Target) -> Estimate:
    """The cost model's estimate of a planned layer (all cores)."""
    sharing = max(1, len(core_plans))
    return merge([estimate_plan(cp.plan, cp.ctx, target, sharing) for cp in core_plans])


def emit_layer(core_plans: list[CorePlan], builder: ProgramBuilder, label: str) -> None:
    """Append a planned layer to the program, each core's share labelled ``label``."""
    for cp in core_plans:
        first = len(builder.streams[cp.core])
        emit_plan(cp.plan, cp.ctx, builder, cp.core)
        builder.label(cp.core, first, label)


SAMPLE_STEPS = 384
"""Walks longer than this are estimated from two prefixes instead of planned whole."""


def _steps_estimate(
    steps: list[tuple[Matmul, ...]],
    before: list[tuple[Matmul, ...]],
    target: Target,
    partial: set[str],
    base: int,
    sharing: int,
) -> Estimate:
    """Plan ``before + steps`` and estimate the ``steps`` part."""
    acc = acc_dtype(target)

    def tile_bytes(key, is_acc: bool) -> int:
        return key[4] * key[5] * (acc.nbytes if is_acc else key[0].dtype.nbytes)

    plan = plan_schedule(before + steps, tile_bytes, target.spm_bytes, lambda t: t in partial)
    first = len(before)
    if first:
        plan = Plan(
            plan.steps[first:],
            plan.before[first:],
            plan.after[first:],
            plan.fresh[first:],
            plan.residency_of[first:],
        )
    ctx = EmitContext(acc, psum_dtype(target), base)
    return estimate_plan(plan, ctx, target, sharing)


_FINAL_STORES: dict[tuple, dict[str, list[int]]] = {}


def _final_store_bytes(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int, ctx: EmitContext, partial: set
) -> dict[str, list[int]]:
    """``_walk_final_store_bytes``, remembered: it depends on the tiles and the boxes, not
    on the loop order, and a search estimates every order at the same tiles."""
    key = (
        layers_key(layers),
        schedule.computations,
        schedule.tilings,
        schedule.partition,
        core,
        tuple(sorted(partial)),
        ctx.psum_dtype,
    )
    found = _FINAL_STORES.get(key)
    if found is None:
        if len(_FINAL_STORES) >= 4096:
            _FINAL_STORES.clear()
        found = _FINAL_STORES[key] = _walk_final_store_bytes(layers, schedule, core, ctx, partial)
    return {name: list(bytes_) for name, bytes_ in found.items()}


def _walk_final_store_bytes(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int, ctx: EmitContext, partial: set
) -> dict[str, list[int]]:
    """Per output tensor, the bytes of the final stores of every accumulator a core's walk
    has (each accumulator tile is stored once, when its last matmul is done)."""
    from igoc.schedule.emit import action_bytes
    from igoc.schedule.planner import Action, Residency

    seen: set = set()
    for phase, layer in _walk(layers, schedule, core):
        for segment in phase:
            for name in segment.computations:
                acc = COMPUTATIONS[name].acc
                rows_index, cols_index = ROLE_INDICES[acc]
                access = layer.accesses[acc]
                (r_lo, r_hi), (c_lo, c_hi) = (
                    segment.box.range(rows_index),
                    segment.box.range(cols_index),
                )
                tr, tc = segment.tiling.size(rows_index), segment.tiling.size(cols_index)
                for r0 in range(r_lo, r_hi, tr):
                    for c0 in range(c_lo, c_hi, tc):
                        seen.add((access, True, r0, c0, min(tr, r_hi - r0), min(tc, c_hi - c0)))
    out: dict[str, list[int]] = {}
    for key in seen:
        kind = "store_acc" if key[0].tensor in partial else "store"
        name, read, write = action_bytes(Action(kind, Residency(key, True, 0, 0, 0)), ctx)
        entry = out.setdefault(name, [0, 0])
        entry[0] += read
        entry[1] += write
    return out


def estimate_schedule(
    layers: list[LayerGemm],
    schedule: LayerSchedule,
    target: Target,
    context: tuple[list[LayerGemm], LayerSchedule] | None = None,
) -> Estimate:
    """The cost model's estimate of a schedule, as cheaply as ranking candidates needs.

    Cores split the work into equal boxes, so the first core with work is planned and
    stands for the others (its traffic counted once per such core). A walk longer than
    ``SAMPLE_STEPS`` is estimated from two prefixes, of n and 2n steps: the first's
    estimate, plus what each further step added between them, times the steps left;
    accumulators stored only at the end of the walk (their reduction spans it) are
    added at their exact final-store bytes. A ``context`` layer is planned just before.
    Exact plans (``plan_layer``) are what the lowering emits; this ranks them.
    """
    partial = {
        layer.accesses[role].tensor for layer in layers for role in schedule.partial_roles(layer)
    }
    before: list[tuple[Matmul, ...]] = []
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
                LayerSchedule((c,), loop, (t,), schedule.partition),
                target,
                context if i == 0 else None,
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
    steps = core_steps(layers, schedule, core, SAMPLE_STEPS if total > SAMPLE_STEPS else None)
    if context is not None:
        before = core_steps(context[0], context[1], core)
    base = core * target.spm_bytes if target.spm_shared else 0
    sharing = len(working)
    if total <= SAMPLE_STEPS:
        est = _steps_estimate(steps, before, target, partial, base, sharing)
    else:
        half = SAMPLE_STEPS // 2
        short = _steps_estimate(steps[:half], before, target, partial, base, sharing)
        long = _steps_estimate(steps[: 2 * half], before, target, partial, base, sharing)
        rest = (total - half) / half
        traffic: dict[str, list[int]] = {}
        for name in set(short.traffic) | set(long.traffic):
            a = short.traffic.get(name, [0, 0])
            b = long.traffic.get(name, [0, 0])
            traffic[name] = [round(a[i] + rest * (b[i] - a[i])) for i in range(2)]
        cycles = short.cycles + rest * (long.cycles - short.cycles)
        ctx = EmitContext(acc_dtype(target), psum_dtype(target), base)
        finals = _final_store_bytes(layers, schedule, core, ctx, partial)
        for name, (read, write) in finals.items():
            if long.traffic.get(name, [0, 0])[1] == 0:  # stored only at the very end
                entry = traffic.setdefault(name, [0, 0])
                entry[0] += read
                entry[1] += write
                cycles += (read + write) / (target.dram_bytes_per_cycle / sharing)
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
