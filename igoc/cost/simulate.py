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


def simulate_layer(
    desc: LayerDesc,
    schedule: LayerSchedule,
    target: Target,
    context: tuple[LayerDesc, LayerSchedule] | None = None,
) -> int:
    """Simulated cycles of one layer on the target (timing only): alone, or after a context
    layer (then the cycles of its own label)."""
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
    report = simulate(program).report
    if context is None:
        return int(report["cycles"])
    return int(report["labels"][desc.name]["cycles"])


def layer_report(desc: LayerDesc, schedule: LayerSchedule, target: Target) -> dict:
    """The simulator's whole report of one layer alone on the target (timing only)."""
    from igoc.sim import simulate

    items = synchronise(layer_items(desc, schedule, target), target.cores)
    tensors = layer_tensors(desc) + extra_tensors(items)  # type: ignore[operator]
    program = build_program(target, tensors, [items] * target.cores, [], {})
    return simulate(program).report
