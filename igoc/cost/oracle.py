"""The simulator as the cost model's oracle: layers and whole programs simulated.

This module is ``cost``'s one way to the simulator (``igoc.sim.simulate``, timing
only): the ``exhaustive`` policies simulate every candidate of an op, the ``cost``
policy simulates its contenders on small ops, and ``confirm-program`` weighs whole
programs. The simulator stays a separate package with a narrow interface (a
``Program`` in, a report out) rather than moving its timing core under the
instruction set: it is large, it is the reference the cost model is measured
against, and nothing else needs its internals.

Programs are planned and emitted here exactly as the lowering plans and emits them
(``model.plan_program``), so that a simulated program is the program igoc would write.
"""

from __future__ import annotations

from igoc.cost.model import item_estimates, plan_program
from igoc.isa.program import Program
from igoc.schedule.describe import LayerDesc
from igoc.schedule.layer_schedule import LayerSchedule
from igoc.schedule.program import (
    BarrierMark,
    Item,
    LayerWalks,
    Lowered,
    TensorSpec,
    build_program,
    layer_items,
    program_tensors,
    synchronise,
)
from igoc.target import Target


def layer_tensors(desc: LayerDesc) -> list[TensorSpec]:
    """The DRAM tensors of a lone layer: its inputs, then its outputs."""
    out = []
    for role in ("X", "W", "dY"):
        if role in desc.tensors:
            out.append((desc.tensors[role], "input", desc.dtype, desc.shapes[role]))
    for role in ("Y", "dX", "dW"):
        if role in desc.tensors:
            out.append((desc.tensors[role], "output", desc.dtype, desc.shapes[role]))
    return out


def _simulated(program: Program) -> dict:
    from igoc.sim import simulate

    return simulate(program).report


def layer_report(
    desc: LayerDesc,
    schedule: LayerSchedule,
    target: Target,
    context: tuple[LayerDesc, LayerSchedule] | None = None,
) -> dict:
    """The simulator's report (timing only) of one layer on the target, alone or after a
    context layer."""
    items = layer_items(desc, schedule, target)
    tensors = layer_tensors(desc)
    if context is not None:
        items = layer_items(*context, target) + items
        names = {name for name, *_ in tensors}
        tensors += [t for t in layer_tensors(context[0]) if t[0] not in names]
    items = synchronise(items, target.cores)
    tensors = program_tensors(tensors, items)
    lowered = plan_program(target, tensors, [items] * target.cores)
    program = build_program(target, tensors, lowered.cores, [], {}, lowered.core_plans)
    return _simulated(program)


def simulate_layer(
    desc: LayerDesc,
    schedule: LayerSchedule,
    target: Target,
    context: tuple[LayerDesc, LayerSchedule] | None = None,
) -> int:
    """Simulated cycles of one layer: the whole program's alone, its own label's after a
    context layer."""
    report = layer_report(desc, schedule, target, context)
    if context is None:
        return int(report["cycles"])
    return int(report["labels"][desc.name]["cycles"])


def program_items(layers: list[tuple[LayerDesc, LayerSchedule]], target: Target) -> list[Item]:
    """The items of a program whose layers (in training order) have these schedules, with
    the barriers its cores need."""
    items: list[Item] = []
    for desc, schedule in layers:
        items += layer_items(desc, schedule, target)
    return synchronise(items, target.cores)


def program_cycles(
    target: Target,
    declared: list[TensorSpec],
    layers: list[tuple[LayerDesc, LayerSchedule]],
    planned: list[Lowered] | None = None,
    walks: LayerWalks | None = None,
) -> int:
    """Simulated cycles of the program of ``layers`` (in training order, each with its
    schedule) over the DRAM tensors ``declared``: the program the lowering would make
    (its plans are appended to ``planned``, if given; ``walks``: the steps of layers of
    programs planned before, see ``program.plan_core``)."""
    lowered = _planned(target, declared, layers, planned, walks)
    return int(_simulated(lowered.program({}))["cycles"])


def _planned(
    target: Target,
    declared: list[TensorSpec],
    layers: list[tuple[LayerDesc, LayerSchedule]],
    planned: list[Lowered] | None,
    walks: LayerWalks | None,
) -> Lowered:
    """The program of ``layers`` planned as the lowering plans it (appended to ``planned``)."""
    items = program_items(layers, target)
    tensors = program_tensors(declared, items)
    lowered = plan_program(target, tensors, [items] * target.cores, walks)
    if planned is not None:
        planned.append(lowered)
    return lowered


def program_estimate(
    target: Target,
    declared: list[TensorSpec],
    layers: list[tuple[LayerDesc, LayerSchedule]],
    planned: list[Lowered] | None = None,
    walks: LayerWalks | None = None,
) -> float:
    """The cost model's cycles of the program of ``layers`` (as ``program_cycles`` takes
    them), planned as the lowering plans it and not simulated: each core's items estimated
    as the lowering records them (``model.item_estimates``), and between two barriers the
    slowest core's share counted (a core waits at a barrier for the others). Its plans are
    appended to ``planned``, if given (``walks``: as for ``program_cycles``)."""
    lowered = _planned(target, declared, layers, planned, walks)
    items = lowered.cores[0]
    per_core = [
        item_estimates(core_plan, items, target, target.cores) for core_plan in lowered.core_plans
    ]
    total = 0.0
    phase = [0.0] * target.cores
    for index, item in enumerate(items):
        if isinstance(item, BarrierMark):
            total += max(phase)
            phase = [0.0] * target.cores
            continue
        for core, estimates in enumerate(per_core):
            phase[core] += estimates[index].cycles
    return total + max(phase)
