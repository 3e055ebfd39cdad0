"""Simulating one layer under one schedule: the ``exhaustive`` policies' oracle."""

from __future__ import annotations

from igoc.schedule.describe import LayerDesc
from igoc.schedule.program import build_program, extra_tensors, layer_items, synchronise
from igoc.schedule.schedule import LayerSchedule
from igoc.target import Target


def layer_tensors(desc: LayerDesc) -> list[tuple[str, str, object, tuple[int, ...]]]:
    """The DRAM tensors of a lone layer: its inputs, then its outputs."""
    out = []
    for role in ("X", "W", "DY"):
        if role in desc.tensors:
            out.append((desc.tensors[role], "input", desc.dtype, desc.shapes[role]))
    for role in ("Y", "DX", "DW"):
        if role in desc.tensors:
            out.append((desc.tensors[role], "output", desc.dtype, desc.shapes[role]))
    return out


def layer_report(
    desc: LayerDesc,
    schedule: LayerSchedule,
    target: Target,
    context: tuple[LayerDesc, LayerSchedule] | None = None,
) -> dict:
    """The simulator's report (timing only) of one layer on the target, alone or after a
    context layer."""
    from igoc.sim import simulate

    items = layer_items(desc, schedule, target)
    tensors = layer_tensors(desc)
    if context is not None:
        items = layer_items(*context, target) + items
        names = {name for name, *_ in tensors}
        tensors += [t for t in layer_tensors(context[0]) if t[0] not in names]
    items = synchronise(items, target.cores)
    tensors += extra_tensors(items)  # type: ignore[arg-type]
    program = build_program(target, tensors, [items] * target.cores, [], {})
    return simulate(program).report


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
