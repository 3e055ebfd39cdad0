"""lower-to-npu: the scheduled layers as an NPU program, per core (the ``npu`` dialect).

Expects: layer ops with their schedule (``sched.schedule``); an op without one
gets the ``tile`` pass's choice. A schedule that splits an op over more cores
than the target has is an error at the op.
Guarantees: the module holds one ``npu.program``: a ``npu.tensor`` for every DRAM
tensor (a function's arguments are inputs, its returned values outputs, other
values scratch; named as ``dialects.views.tensor_names`` says) and one
``npu.core`` per core running its share of every layer in training order — every
forward op first, then the gradients from the last function to the first (a file
whose functions are a network's layers is one training step) — with
``npu.barrier`` before a layer that reads what an earlier layer wrote when
several cores run. Each ``npu.layer`` names its tensors by symbol, carries the
schedule it was lowered from, and records what the SPM planner found for its
core: tile steps, instructions, DRAM bytes read and written, estimated cycles.
An ``npu.zero`` sets an output to zero first where layers add into it or write
only part of it (``schedule.program.zero_fills``). A program of more than
``igoc.limits.MAX_INSTRUCTIONS`` instructions is an error at the op that passes
the limit.

The planner runs over each core's whole walk at once (``schedule.program``), so
tiles left in SPM by one layer serve the next. Those plans are handed to igoc's
driver (``cost.session``), which emits them (``emit_program``): the plans the
lowering measured are the plans emitted. A module read at stage ``npu`` is
planned from its IR, deterministically, to the same program.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region
from xdsl.passes import ModulePass

from igoc.cost.decide import initial_schedule
from igoc.cost.model import item_estimates, plan_program
from igoc.cost.session import (
    lowered_plans,
    record_lowered,
    release_estimates,
    release_lowered,
    search_for,
    take_planned,
)
from igoc.dialects.npu import (
    BarrierOp,
    ConvertOp,
    CopyOp,
    CoreOp,
    LayerOp,
    ProgramOp,
    TensorOp,
    ZeroOp,
    module_target,
)
from igoc.dialects.sched import from_attr
from igoc.dialects.views import TrainingLayers, declared_tensors, functions
from igoc.frontend import error_at
from igoc.isa.instructions import ConvGeometry
from igoc.isa.program import Program
from igoc.limits import MAX_INSTRUCTIONS
from igoc.schedule.planner import PlanError
from igoc.schedule.program import (
    BarrierMark,
    ConvertMark,
    CopyMark,
    CorePlan,
    Item,
    Lowered,
    ScheduledLayer,
    TensorSpec,
    ZeroMark,
    copy_blocks,
    layer_items,
    program_tensors,
    synchronise,
)
from igoc.target import Target


def _items(
    module: ModuleOp, ctx: Context, target: Target
) -> tuple[list[Item], dict[int, Operation]]:
    """The program's layers (and copies) in training order, with barriers where cores wait.

    Training order (``dialects.views.training_order``): a file whose functions are a
    network's layers runs as one training step, so what a layer's forward leaves in
    SPM serves its own backward only if the rest of the network in between leaves it
    there. Also the op each layer item comes from.
    """
    items: list[Item] = []
    source: dict[int, Operation] = {}
    layers = TrainingLayers.of(module, target)
    for index, (op, desc) in enumerate(zip(layers.ops, layers.descs, strict=True)):
        schedule = layers.schedule(index)
        if schedule is None:
            try:
                schedule = initial_schedule(search_for(ctx, target), desc)[0]
            except ValueError as err:
                raise error_at(op, str(err)) from None
        for item in layer_items(desc, schedule, target):
            if isinstance(item, ScheduledLayer):
                source[id(item)] = op
            items.append(item)
    return synchronise(items, target.cores), source


@dataclass(frozen=True)
class LowerToNpuPass(ModulePass):
    """Lowers the scheduled layers to an NPU program per core (npu dialect), planning the SPM."""

    name = "lower-to-npu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        items, source = _items(op, ctx, target)
        release_estimates(ctx)
        tensors = program_tensors(declared_tensors(op), items)
        try:
            lowered = take_planned(ctx, target, tensors, [items] * target.cores)
            if lowered is None:
                lowered = plan_program(target, tensors, [items] * target.cores)
        except PlanError as err:  # at the layer that does not fit, if known
            where = source.get(id(err.item), next(iter(source.values())))
            raise error_at(where, str(err)) from None
        program = ProgramOp(regions=[Region(Block())])
        block = program.body.block
        for spec in tensors:
            block.add_op(TensorOp.of(spec))
        instructions = 0
        for core_plan in lowered.core_plans:
            estimates = item_estimates(core_plan, items, target, target.cores)
            body = Block()
            for item, where, est in zip(items, core_plan.where, estimates, strict=True):
                body.add_op(_item_op(item, where, est, core_plan, target))
                instructions += _instructions(body.last_op)
                if instructions > MAX_INSTRUCTIONS:
                    raise error_at(
                        source.get(id(item), next(iter(source.values()))),
                        f"the program takes more than {MAX_INSTRUCTIONS:,} instructions by "
                        "this op; that is igoc's limit per program",
                    )
                if id(item) in source:
                    body.last_op.location = source[id(item)].location  # type: ignore[union-attr]
            block.add_op(CoreOp.of(core_plan.core, body))
        for function in functions(op):
            function.detach()
            function.erase()
        op.body.block.add_op(program)
        record_lowered(ctx, program, lowered)


def _instructions(op: Operation | None) -> int:
    """The instructions an npu op stands for (a barrier is one)."""
    stats = getattr(op, "stats", None)
    if stats is None:
        return 1
    return int(from_attr(stats).get("instructions", 0))  # type: ignore[union-attr]


def _item_op(item: Item, where, est, core_plan: CorePlan, target: Target) -> Operation:
    """The npu op of one item of a core, with what lowering measured of it."""
    traffic = {
        "dram_read_bytes": sum(r for r, _ in est.traffic.values()),
        "dram_write_bytes": sum(w for _, w in est.traffic.values()),
        "estimated_cycles": int(round(est.cycles)),
    }
    if isinstance(item, BarrierMark):
        return BarrierOp.of(item.barrier_id, item.cores)
    if isinstance(item, ConvertMark):
        blocks = len(item.blocks(core_plan.core, target.spm_bytes))
        return ConvertOp.of(item.source, item.target, {"instructions": 2 * blocks, **traffic})
    if isinstance(item, ZeroMark):
        blocks = len(item.blocks(core_plan.core))
        return ZeroOp.of(item.tensor, {"instructions": blocks, **traffic})
    if isinstance(item, CopyMark):
        blocks = len(copy_blocks(item, core_plan.core, target))
        stats = {"instructions": 2 * blocks, **traffic}
        geometry = dataclasses.asdict(item.geometry)
        return CopyOp.of(item.kind, item.tensor, item.col_tensor, geometry, stats)
    assert isinstance(item, ScheduledLayer)
    index, first, end = where
    plan = core_plan.plans[index] if first < end else None
    dmas = matmuls = 0
    if plan is not None:
        dmas = sum(len(plan.before[s]) + len(plan.after[s]) for s in range(first, end))
        matmuls = sum(len(plan.steps[s]) for s in range(first, end))
    stats = {"steps": end - first, "instructions": dmas + matmuls, **traffic}
    return LayerOp.of(item.desc, item.schedule, stats)


# ---- emission ------------------------------------------------------------------------------------


def lowered_from_module(module: ModuleOp) -> Lowered:
    """The items and plans of a module at stage ``npu``, planned from its IR."""
    target = module_target(module)
    programs = [op for op in module.body.block.ops if isinstance(op, ProgramOp)]
    if len(programs) != 1:
        raise ValueError("the module holds no npu.program (run lower-to-npu first)")
    specs = [op.spec() for op in programs[0].body.block.ops if isinstance(op, TensorOp)]
    by_name = {spec[0]: spec for spec in specs}
    cores: list[list[Item]] = []
    core_ops = [op for op in programs[0].body.block.ops if isinstance(op, CoreOp)]
    for core_op in core_ops:
        cores.append([_item(inner, by_name, len(core_ops)) for inner in core_op.body.block.ops])
    return plan_program(target, specs, cores)


def _item(op: Operation, tensors: dict[str, TensorSpec], cores: int) -> Item:
    """The item an op of a ``npu.core`` stands for."""
    if isinstance(op, BarrierOp):
        ids = tuple(int(c) for c in from_attr(op.cores))  # type: ignore[union-attr]
        return BarrierMark(op.barrier_id.value.data, ids)
    if isinstance(op, ConvertOp):
        source, target = op.source.root_reference.data, op.target.root_reference.data
        _, _, source_dtype, shape = tensors[source]
        return ConvertMark(source, target, shape, source_dtype, tensors[target][2], cores)
    if isinstance(op, ZeroOp):
        name = op.tensor.root_reference.data
        _, _, dtype, shape = tensors[name]
        return ZeroMark(name, shape, dtype, cores)
    if isinstance(op, CopyOp):
        geometry = ConvGeometry(**from_attr(op.conv))  # type: ignore[arg-type]
        tensor = op.tensor.root_reference.data
        col = op.col_tensor.root_reference.data
        return CopyMark(op.kind.data, tensor, col, geometry, tensors[tensor][2], cores)
    assert isinstance(op, LayerOp)
    return ScheduledLayer(op.desc(tensors), op.layer_schedule())


def program_from_module(
    module: ModuleOp, meta: dict | None = None, ctx: Context | None = None
) -> Program:
    """The NPU program of a module at stage ``npu``: from the lowering's plans when ``ctx`` is
    the session that lowered it, else planned from its IR."""
    programs = [op for op in module.body.block.ops if isinstance(op, ProgramOp)]
    lowered = lowered_plans(ctx, programs[0]) if len(programs) == 1 else None
    if lowered is None:
        lowered = lowered_from_module(module)
    return lowered.program(meta or {})


def emit_program(
    module: ModuleOp,
    out_path: str | os.PathLike,
    meta: dict | None = None,
    ctx: Context | None = None,
) -> None:
    """Write the ``.npu`` file of a module at stage ``npu`` (atomically).

    The lowering's plans, once emitted, are let go before the program is encoded (they are
    the largest memory of a compile): emitting again plans the program from its IR."""
    from igoc.isa.npufile import write_npu

    program = program_from_module(module, meta, ctx)
    release_lowered(ctx)
    write_npu(program, out_path)
