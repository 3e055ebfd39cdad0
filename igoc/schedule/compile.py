"""One layer, one schedule, one target: the steps each core walks, their plans, estimate, emission.

The functions here are the glue between a schedule (``schedule.py``), the
planner, the cost model and the emitter; the passes call them and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from igoc.cost.model import Estimate, estimate_plan, merge
from igoc.isa.instructions import DType
from igoc.schedule.emit import EmitContext, ProgramBuilder, emit_plan
from igoc.schedule.layer import LayerGemm
from igoc.schedule.planner import Plan, plan_schedule
from igoc.schedule.schedule import LayerSchedule
from igoc.schedule.steps import Matmul, phase_steps
from igoc.target import Target


def acc_dtype(target: Target) -> DType:
    """The element type of accumulators in SPM."""
    return DType.F32 if target.acc_bytes == 4 else DType.F16


def psum_dtype(target: Target) -> DType:
    """The element type of partial sums spilled to DRAM."""
    return DType.F32 if target.psum_bytes == 4 else DType.F16


def core_steps(
    layers: list[LayerGemm], schedule: LayerSchedule, core: int
) -> list[tuple[Matmul, ...]]:
    """The steps core ``core`` walks: its boxes of the partition, group by group."""
    part = schedule.partition
    boxes = part.boxes(layers[0])
    mine = [box for p, box in enumerate(boxes) if p % part.cores == core]
    steps: list[tuple[Matmul, ...]] = []
    for layer in layers:
        for box in mine:
            for phase in schedule.phases(box):
                steps.extend(phase_steps(phase, layer))
    return steps


@dataclass
class CorePlan:
    """A core's share of a layer: its plan and the context to emit or cost it."""

    core: int
    plan: Plan
    ctx: EmitContext


def plan_layer(
    layers: list[LayerGemm],
    schedule: LayerSchedule,
    target: Target,
    context: tuple[list[LayerGemm], LayerSchedule] | None = None,
) -> list[CorePlan]:
    """Plan every core's share of the layer (cores with nothing to do are left out).

    ``context``: a layer (its GEMMs and schedule) that runs just before on the same
    cores; it is planned too, so what it leaves in SPM can serve this layer, and the
    returned plans hold this layer's steps only.
    Raises ``igoc.schedule.planner.PlanError`` if a step does not fit the SPM.
    """
    acc = acc_dtype(target)
    acc_bytes = acc.nbytes
    partial = {
        layer.accesses[role].tensor for layer in layers for role in schedule.partial_roles(layer)
    }
    if context is not None:
        partial |= {
            layer.accesses[role].tensor
            for layer in context[0]
            for role in context[1].partial_roles(layer)
        }

    def tile_bytes(key, is_acc: bool) -> int:
        return key[4] * key[5] * (acc_bytes if is_acc else key[0].dtype.nbytes)

    out = []
    for core in range(schedule.partition.cores):
        steps = core_steps(layers, schedule, core)
        if not steps:
            continue
        before = core_steps(context[0], context[1], core) if context is not None else []
        plan = plan_schedule(before + steps, tile_bytes, target.spm_bytes, lambda r: r in partial)
        if before:
            first = len(before)
            plan = Plan(
                plan.steps[first:],
                plan.before[first:],
                plan.after[first:],
                plan.fresh[first:],
                plan.residency_of[first:],
            )
        base = core * target.spm_bytes if target.spm_shared else 0
        ctx = EmitContext(acc, psum_dtype(target), base)
        out.append(CorePlan(core, plan, ctx))
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
