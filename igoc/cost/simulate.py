"""Simulating one layer under one schedule: the ``exhaustive`` policies' oracle."""

from __future__ import annotations

from igoc.schedule.describe import LayerDesc
from igoc.schedule.program import ScheduledLayer, build_program
from igoc.schedule.schedule import LayerSchedule
from igoc.target import Target


def layer_tensors(desc: LayerDesc) -> list[tuple[str, str, object, tuple[int, ...]]]:
    """The DRAM tensors of a lone layer: its inputs, then its outputs."""
    out = []
    for role in ("X", "W", "DY"):
        if role in desc.tensors and role not in ("Y", "DX", "DW"):
            out.append((desc.tensors[role], "input", desc.dtype, desc.shapes[role]))
    for role in ("Y", "DX", "DW"):
        if role in desc.tensors:
            out.append((desc.tensors[role], "output", desc.dtype, desc.shapes[role]))
    return out


def simulate_layer(desc: LayerDesc, schedule: LayerSchedule, target: Target) -> int:
    """Simulated cycles of one layer alone on the target (timing only)."""
    from igoc.sim import simulate

    cores = [[ScheduledLayer(desc, schedule)] for _ in range(target.cores)]
    program = build_program(target, layer_tensors(desc), cores, [], {})
    return int(simulate(program).report["cycles"])
