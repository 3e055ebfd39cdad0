"""A whole program: every core's layers planned together, then emitted as one ``Program``.

Each core walks its share of every layer, in program order, and one SPM plan
covers the whole walk: a tile that one layer leaves in SPM and the next one
needs is not loaded again (the baseline's dX and dW, two ops, keep dY tiles
that happen to be resident, exactly as the paper's baseline does). Cores wait
for each other at barriers, which the lowering places where a layer reads what
another core may have written.
"""

from __future__ import annotations

from dataclasses import dataclass

from igoc.cost.model import Estimate, estimate_plan
from igoc.isa.instructions import Barrier, Halt
from igoc.isa.program import Program
from igoc.schedule.compile import acc_dtype, core_steps, psum_dtype
from igoc.schedule.describe import LayerDesc
from igoc.schedule.emit import EmitContext, ProgramBuilder, emit_plan
from igoc.schedule.planner import Plan, plan_schedule
from igoc.schedule.schedule import LayerSchedule
from igoc.schedule.steps import Matmul
from igoc.target import Target


@dataclass(frozen=True)
class ScheduledLayer:
    """A layer and its schedule, as a core runs its share."""

    desc: LayerDesc
    schedule: LayerSchedule


@dataclass(frozen=True)
class BarrierMark:
    """All cores in ``cores`` wait for each other here."""

    barrier_id: int
    cores: tuple[int, ...]


Item = ScheduledLayer | BarrierMark


@dataclass
class CorePlan:
    """One core's whole walk, planned: the plan, and which steps belong to which item."""

    core: int
    plan: Plan
    ctx: EmitContext
    spans: list[tuple[int, int]]  # per item: its steps [first, end)


def plan_core(target: Target, core: int, items: list[Item]) -> CorePlan:
    """Plan one core's share of every layer in one walk."""
    steps: list[tuple[Matmul, ...]] = []
    spans = []
    partial: set[str] = set()
    for item in items:
        first = len(steps)
        if isinstance(item, ScheduledLayer):
            layers = item.desc.layers()
            steps += core_steps(layers, item.schedule, core)
            for layer in layers:
                for role in item.schedule.partial_roles(layer):
                    partial.add(layer.accesses[role].tensor)
        spans.append((first, len(steps)))
    acc = acc_dtype(target)

    def tile_bytes(key, is_acc: bool) -> int:
        return key[4] * key[5] * (acc.nbytes if is_acc else key[0].dtype.nbytes)

    plan = plan_schedule(steps, tile_bytes, target.spm_bytes, lambda t: t in partial)
    base = core * target.spm_bytes if target.spm_shared else 0
    return CorePlan(core, plan, EmitContext(acc, psum_dtype(target), base), spans)


def item_estimates(core_plan: CorePlan, target: Target, sharing_cores: int) -> list[Estimate]:
    """The cost model's view of each item of a planned core (zero for barriers)."""
    out = []
    for first, end in core_plan.spans:
        sub = Plan(
            core_plan.plan.steps[first:end],
            core_plan.plan.before[first:end],
            core_plan.plan.after[first:end],
            core_plan.plan.fresh[first:end],
            core_plan.plan.residency_of[first:end],
        )
        out.append(estimate_plan(sub, core_plan.ctx, target, sharing_cores))
    return out


def build_program(
    target: Target,
    tensors: list[tuple[str, str, object, tuple[int, ...]]],
    cores: list[list[Item]],
    reference: list[dict],
    meta: dict,
    core_plans: list[CorePlan] | None = None,
) -> Program:
    """The program of every core's items (tensors: ``(name, role, DType, shape)``)."""
    builder = ProgramBuilder(target)
    for name, role, dtype, shape in tensors:
        builder.tensor(name, role, dtype, shape)  # type: ignore[arg-type]
    for core, items in enumerate(cores):
        cp = core_plans[core] if core_plans else plan_core(target, core, items)
        stream = builder.streams[core]
        for item, (first, end) in zip(items, cp.spans, strict=True):
            start = len(stream)
            if isinstance(item, BarrierMark):
                mask = sum(1 << c for c in item.cores)
                stream.append(Barrier(item.barrier_id, mask))
                continue
            emit_plan(cp.plan, cp.ctx, builder, core, first, end)
            builder.label(core, start, item.desc.name)
        stream.append(Halt())
    return builder.build(reference, meta)
