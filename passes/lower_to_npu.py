"""lower-to-npu: the scheduled layers as an NPU program, per core (the ``npu`` dialect).

Expects: layer ops with their schedule (``sched.order``, ``sched.tile``,
``sched.partition``); an op without one gets the ``tile`` pass's choice.
Guarantees: the module holds one ``npu.program``: a ``npu.tensor`` for every DRAM
tensor (a function's arguments are inputs, its returned values outputs, other
values scratch; named as ``irutil.tensor_names`` says) and one ``npu.core`` per
core running its share of every layer in program order, with ``npu.barrier``
before a layer that reads what an earlier layer wrote when several cores run.
Each ``npu.layer`` records its computation and schedule, and what the SPM
planner found for its core: instructions, DRAM bytes read and written,
estimated cycles.

The planner runs over each core's whole walk at once (``schedule.program``), so
tiles left in SPM by one layer serve the next. ``emit_program`` turns the
``npu`` IR into the ``.npu`` file, deterministically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, TensorType, i64
from xdsl.ir import Block, Region
from xdsl.passes import ModulePass

from igoc.cost.decide import initial_schedule
from igoc.dialects.npu import BarrierOp, CoreOp, LayerOp, ProgramOp, TensorOp
from igoc.frontend import error_at
from igoc.irutil import (
    desc_from_dict,
    desc_to_dict,
    describe_op,
    from_attr,
    functions,
    layer_ops,
    sched_get,
    tensor_names,
    to_attr,
)
from igoc.isa.program import Program
from igoc.pipeline import module_target
from igoc.schedule.describe import dtype_of, schedule_from_dict, schedule_to_dict
from igoc.schedule.planner import PlanError
from igoc.schedule.program import (
    BarrierMark,
    Item,
    ScheduledLayer,
    build_program,
    item_estimates,
    plan_core,
)
from igoc.target import Target


def _tensors(module: ModuleOp) -> list[tuple[str, str, TensorType]]:
    """Every DRAM tensor of the module: (name, role, type), in a fixed order."""
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
    return out


def _items(module: ModuleOp, target: Target) -> list[Item]:
    """The program's layers in order, with barriers where cores must wait for each other."""
    items: list[Item] = []
    written: set[str] = set()
    barriers = 0
    for function, op in layer_ops(module):
        names = tensor_names(module, function)
        desc = describe_op(op, names)
        data = {k: sched_get(op, k) for k in ("order", "tile", "loops", "partition")}
        try:
            if data["order"] is None or data["tile"] is None:
                schedule, _ = initial_schedule(desc, target)
            else:
                schedule = schedule_from_dict(desc.computations, data)
        except ValueError as err:
            raise error_at(op, str(err)) from None
        inputs = {desc.tensors[r] for r in ("X", "W", "DY") if r in desc.tensors}
        outputs = {desc.tensors[r] for r in ("Y", "DX", "DW") if r in desc.tensors}
        if target.cores > 1 and (inputs | outputs) & written:
            items.append(BarrierMark(barriers, tuple(range(target.cores))))
            barriers += 1
            written = set()
        written |= outputs
        items.append(ScheduledLayer(desc, schedule))
    return items


@dataclass(frozen=True)
class LowerToNpuPass(ModulePass):
    """Lowers the scheduled layers to an NPU program per core (npu dialect), planning the SPM."""

    name = "lower-to-npu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        items = _items(op, target)
        layer_op_of = {}
        for _, layer in layer_ops(op):
            layer_op_of[len(layer_op_of)] = layer
        program = ProgramOp(regions=[Region(Block())])
        block = program.body.block
        for name, role, ty in _tensors(op):
            block.add_op(
                TensorOp(
                    properties={"name": StringAttr(name), "role": StringAttr(role), "type": ty}
                )
            )
        for core in range(target.cores):
            try:
                core_plan = plan_core(target, core, items)
            except PlanError as err:
                raise error_at(next(iter(layer_op_of.values())), str(err)) from None
            estimates = item_estimates(core_plan, target, target.cores)
            body = Block()
            layer_index = 0
            for item, (first, end), est in zip(items, core_plan.spans, estimates, strict=True):
                if isinstance(item, BarrierMark):
                    body.add_op(
                        BarrierOp(
                            properties={
                                "id": IntegerAttr(item.barrier_id, i64),
                                "cores": to_attr(list(item.cores)),
                            }
                        )
                    )
                    continue
                plan = core_plan.plan
                dmas = sum(len(plan.before[s]) + len(plan.after[s]) for s in range(first, end))
                matmuls = sum(len(plan.steps[s]) for s in range(first, end))
                stats = {
                    "steps": end - first,
                    "instructions": dmas + matmuls,
                    "dram_read_bytes": sum(r for r, _ in est.traffic.values()),
                    "dram_write_bytes": sum(w for _, w in est.traffic.values()),
                    "estimated_cycles": int(round(est.cycles)),
                }
                layer = LayerOp(
                    properties={
                        "name": StringAttr(item.desc.name),
                        "layer": to_attr(desc_to_dict(item.desc)),
                        "schedule": to_attr(schedule_to_dict(item.schedule)),
                        "stats": to_attr(stats),
                    }
                )
                layer.location = layer_op_of[layer_index].location
                layer_index += 1
                body.add_op(layer)
            block.add_op(
                CoreOp(properties={"core": IntegerAttr(core, i64)}, regions=[Region(body)])
            )
        for function in functions(op):
            function.detach()
            function.erase()
        op.body.block.add_op(program)


# ---- emission ------------------------------------------------------------------------------------


def program_from_module(module: ModuleOp, meta: dict | None = None) -> Program:
    """The NPU program of a module at stage ``npu``."""
    target = module_target(module)
    programs = [op for op in module.body.block.ops if isinstance(op, ProgramOp)]
    if len(programs) != 1:
        raise ValueError("the module holds no npu.program (run lower-to-npu first)")
    tensors = []
    cores: list[list[Item]] = []
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
