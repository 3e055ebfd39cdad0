"""lower-to-npu: the scheduled layers as an NPU program, per core (the ``npu`` dialect).

Expects: layer ops with their schedule (``sched.order``, ``sched.tile``,
``sched.partition``); an op without one gets the ``tile`` pass's choice.
Guarantees: the module holds one ``npu.program``: a ``npu.tensor`` for every DRAM
tensor (a function's arguments are inputs, its returned values outputs, other
values scratch; named as ``irutil.tensor_names`` says) and one ``npu.core`` per
core running its share of every layer in training order — every forward op
first, then the gradients from the last function to the first (a file whose
functions are a network's layers is one training step) — with ``npu.barrier``
before a layer that reads what an earlier layer wrote when several cores run.
Each ``npu.layer`` records its computation and schedule, and what the SPM
planner found for its core: instructions, DRAM bytes read and written,
estimated cycles. An ``npu.zero`` sets an output to zero first where layers add
into it or write only part of it (``schedule.program.zero_fills``).

The planner runs over each core's whole walk at once (``schedule.program``), so
tiles left in SPM by one layer serve the next. ``emit_program`` turns the
``npu`` IR into the ``.npu`` file, deterministically.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    i64,
)
from xdsl.ir import Block, Operation, Region
from xdsl.passes import ModulePass

from igoc.cost.decide import initial_schedule
from igoc.dialects.npu import (
    BarrierOp,
    ConvertOp,
    CopyOp,
    CoreOp,
    LayerOp,
    ProgramOp,
    TensorOp,
    ZeroOp,
)
from igoc.frontend import error_at
from igoc.irutil import (
    desc_from_dict,
    desc_to_dict,
    from_attr,
    functions,
    op_schedule,
    ops_in_training_order,
    tensor_names,
    to_attr,
)
from igoc.isa.instructions import ConvGeometry
from igoc.isa.program import Program
from igoc.limits import MAX_INSTRUCTIONS
from igoc.pipeline import module_target
from igoc.schedule.describe import dtype_of, schedule_from_dict, schedule_to_dict
from igoc.schedule.planner import PlanError
from igoc.schedule.program import (
    BarrierMark,
    ConvertMark,
    CopyMark,
    Item,
    ScheduledLayer,
    ZeroMark,
    build_program,
    copy_blocks,
    extra_tensors,
    item_estimates,
    layer_items,
    plan_core,
    synchronise,
)
from igoc.target import Target


def _tensors(module: ModuleOp, items: list[Item]) -> list[tuple[str, str, TensorType]]:
    """Every DRAM tensor of the module: (name, role, type), in a fixed order.

    A function's arguments are inputs, its returned values outputs, its other values
    scratch; a materialised im2col matrix is scratch too.
    """
    out: list[tuple[str, str, TensorType]] = []
    for function in functions(module):
        names = tensor_names(module, function)
        returned: set = set()
        for op in function.body.block.ops:
            if isinstance(op, func.ReturnOp):
                returned.update(op.operands)
        for arg in function.body.block.args:
            out.append((names[arg], "input", arg.type))  # type: ignore[arg-type]
        for op in function.body.block.ops:
            for result in op.results:
                role = "output" if result in returned else "scratch"
                out.append((names[result], role, result.type))  # type: ignore[arg-type]
    declared = {name for name, _, _ in out}
    elements = {"f16": f16, "bf16": bf16, "f32": f32}
    for name, role, dtype, shape in extra_tensors(items):
        if name not in declared:
            out.append((name, role, TensorType(elements[dtype.mlir_name], list(shape))))
            declared.add(name)
    return out


def _items(module: ModuleOp, target: Target) -> tuple[list[Item], dict[int, Operation]]:
    """The program's layers (and copies) in training order, with barriers where cores wait.

    Training order (``irutil.training_order``): a file whose functions are a network's
    layers runs as one training step, so what a layer's forward leaves in SPM serves
    its own backward only if the rest of the network in between leaves it there.
    Also the op each layer item comes from.
    """
    items: list[Item] = []
    source: dict[int, Operation] = {}
    order, descs = ops_in_training_order(module)
    for (_, op), desc in zip(order, descs, strict=True):
        try:
            schedule = op_schedule(op, desc) or initial_schedule(desc, target)[0]
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
        items, source = _items(op, target)
        program = ProgramOp(regions=[Region(Block())])
        block = program.body.block
        for name, role, ty in _tensors(op, items):
            block.add_op(
                TensorOp(
                    properties={"name": StringAttr(name), "role": StringAttr(role), "type": ty}
                )
            )
        instructions = 0
        for core in range(target.cores):
            try:
                core_plan = plan_core(target, core, items)
            except PlanError as err:
                raise error_at(next(iter(source.values())), str(err)) from None
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
            block.add_op(
                CoreOp(properties={"core": IntegerAttr(core, i64)}, regions=[Region(body)])
            )
        for function in functions(op):
            function.detach()
            function.erase()
        op.body.block.add_op(program)


def _instructions(op: Operation | None) -> int:
    """The instructions an npu op stands for (a barrier is one)."""
    stats = getattr(op, "stats", None)
    if stats is None:
        return 1
    return int(from_attr(stats).get("instructions", 0))  # type: ignore[union-attr]


def _item_op(item: Item, where, est, core_plan, target: Target):
    """The npu op of one item of a core, with what lowering measured of it."""
    traffic = {
        "dram_read_bytes": sum(r for r, _ in est.traffic.values()),
        "dram_write_bytes": sum(w for _, w in est.traffic.values()),
        "estimated_cycles": int(round(est.cycles)),
    }
    if isinstance(item, BarrierMark):
        return BarrierOp(
            properties={"id": IntegerAttr(item.barrier_id, i64), "cores": to_attr(list(item.cores))}
        )
    if isinstance(item, ConvertMark):
        blocks = len(item.blocks(core_plan.core, target.spm_bytes))
        return ConvertOp(
            properties={
                "source": StringAttr(item.source),
                "target": StringAttr(item.target),
                "stats": to_attr({"instructions": 2 * blocks, **traffic}),
            }
        )
    if isinstance(item, ZeroMark):
        blocks = len(item.blocks(core_plan.core))
        return ZeroOp(
            properties={
                "tensor": StringAttr(item.tensor),
                "stats": to_attr({"instructions": blocks, **traffic}),
            }
        )
    if isinstance(item, CopyMark):
        blocks = len(copy_blocks(item, core_plan.core, target))
        return CopyOp(
            properties={
                "kind": StringAttr(item.kind),
                "tensor": StringAttr(item.tensor),
                "col_tensor": StringAttr(item.col_tensor),
                "conv": to_attr(dataclasses.asdict(item.geometry)),
                "stats": to_attr({"instructions": 2 * blocks, **traffic}),
            }
        )
    index, first, end = where
    plan = core_plan.plans[index] if first < end else None
    dmas = matmuls = 0
    if plan is not None:
        dmas = sum(len(plan.before[s]) + len(plan.after[s]) for s in range(first, end))
        matmuls = sum(len(plan.steps[s]) for s in range(first, end))
    stats = {"steps": end - first, "instructions": dmas + matmuls, **traffic}
    return LayerOp(
        properties={
            "name": StringAttr(item.desc.name),
            "layer": to_attr(desc_to_dict(item.desc)),
            "schedule": to_attr(schedule_to_dict(item.schedule)),
            "stats": to_attr(stats),
        }
    )


# ---- emission ------------------------------------------------------------------------------------


def program_from_module(module: ModuleOp, meta: dict | None = None) -> Program:
    """The NPU program of a module at stage ``npu``."""
    target = module_target(module)
    programs = [op for op in module.body.block.ops if isinstance(op, ProgramOp)]
    if len(programs) != 1:
        raise ValueError("the module holds no npu.program (run lower-to-npu first)")
    tensors = []
    cores: list[list[Item]] = []
    core_count = sum(isinstance(o, CoreOp) for o in programs[0].body.block.ops)
    for op in programs[0].body.block.ops:
        if isinstance(op, TensorOp):
            ty = op.type
            tensors.append(
                (
                    op.tensor_name.data,
                    op.role.data,
                    dtype_of(str(ty.get_element_type())),
                    tuple(ty.get_shape()),
                )
            )
        elif isinstance(op, CoreOp):
            items: list[Item] = []
            for inner in op.body.block.ops:
                if isinstance(inner, BarrierOp):
                    ids = tuple(int(c) for c in from_attr(inner.cores))  # type: ignore[union-attr]
                    items.append(BarrierMark(inner.barrier_id.value.data, ids))
                elif isinstance(inner, ConvertOp):
                    found = {n: (d, shape) for n, _, d, shape in tensors}
                    source_dtype, shape = found[inner.source.data]
                    target_dtype, _ = found[inner.target.data]
                    items.append(
                        ConvertMark(
                            inner.source.data,
                            inner.target.data,
                            shape,
                            source_dtype,
                            target_dtype,
                            core_count,
                        )
                    )
                elif isinstance(inner, ZeroOp):
                    name = inner.tensor.data
                    dtype, shape = next((d, sh) for n, _, d, sh in tensors if n == name)
                    items.append(ZeroMark(name, shape, dtype, core_count))
                elif isinstance(inner, CopyOp):
                    geometry = ConvGeometry(**from_attr(inner.conv))  # type: ignore[arg-type]
                    dtype = next(d for n, _, d, _ in tensors if n == inner.tensor.data)
                    items.append(
                        CopyMark(
                            inner.kind.data,
                            inner.tensor.data,
                            inner.col_tensor.data,
                            geometry,
                            dtype,
                            core_count,
                        )
                    )
                elif isinstance(inner, LayerOp):
                    desc = desc_from_dict(inner.layer_name.data, from_attr(inner.layer))  # type: ignore[arg-type]
                    schedule = schedule_from_dict(desc.computations, from_attr(inner.schedule))  # type: ignore[arg-type]
                    items.append(ScheduledLayer(desc, schedule))
            cores.append(items)
    reference = [
        ref
        for item in cores[0]
        if isinstance(item, ScheduledLayer)
        for ref in item.desc.reference_ops()
    ]
    return build_program(target, tensors, cores, reference, meta or {})


def emit_program(module: ModuleOp, out_path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write the ``.npu`` file of a module at stage ``npu`` (atomically)."""
    from igoc.isa.npufile import write_npu

    write_npu(program_from_module(module, meta), out_path)
