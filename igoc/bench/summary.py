"""From a compiled and simulated program to the figures a benchmark reports.

Which work is backward: every label (a layer op, or ``a.dx+a.dw`` for a fused
pair; a fill, copy or conversion of such a result) whose results come from a
gradient op of the program's source
(``Program.reference``); forward labels are the ``grad.matmul``/``grad.conv2d``
ops. Consecutive layers overlap in time (the next layer's loads start while
this one computes), so the backward time is the *union* of the backward
labels' ``[start, end)`` intervals: the cycles during which some backward work
was under way. A layer's cycles are, likewise, the union of its labels.

A layer is a function of the input file (tensor and label names are
``<function>.<value>``); a file with a single function is one layer.

Per layer, two lower bounds: compute, MACs / (PEs · cores); data, the
compulsory bytes (every input that some op reads, read once; every output
written once) / the DRAM channel's bytes per cycle.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from igoc.isa.program import Program

FORWARD_OPS = ("matmul", "conv2d")
"""Source ops of the forward pass; every other op of a program's reference is a gradient."""

SINGLE_LAYER = "main"
"""The layer name of a file whose names are not qualified by a function."""


def union_cycles(intervals: list[tuple[float, float]]) -> int:
    """Cycles covered by at least one of the ``[start, end)`` intervals."""
    total = 0.0
    end_so_far = -math.inf
    for start, end in sorted(intervals):
        if end <= end_so_far:
            continue
        total += end - max(start, end_so_far)
        end_so_far = end
    return math.ceil(total)


def _layer_of(name: str, qualified: bool) -> str:
    return name.split(".", 1)[0] if qualified else SINGLE_LAYER


def _short(name: str, qualified: bool) -> str:
    """A name without its function prefix: ``conv1.dx+conv1.dw`` -> ``dx+dw``."""
    if not qualified:
        return name
    return "+".join(part.split(".", 1)[-1] for part in name.split("+"))


def _tensor_of(part: str) -> str:
    """The source tensor a label part stands for."""
    return part.split(":", 1)[0].removesuffix(".partial").removesuffix(".col")


def label_kind(label: str, op_of_output: dict[str, str]) -> str:
    """``forward``, ``backward`` or ``other`` (a label no source op produced).

    The label of a fill, copy or conversion (``conv1.dx:zero``, ``conv1.dx.col:col2im``,
    ``fc.dw.partial:convert``) goes with the op that produces its tensor.
    """
    ops = [op_of_output.get(_tensor_of(part)) for part in label.split("+")]
    if any(op is not None and op not in FORWARD_OPS for op in ops):
        return "backward"
    if ops and all(op in FORWARD_OPS for op in ops):
        return "forward"
    return "other"


def summarise(program: Program, report: dict) -> dict:
    """The result record of one job: totals, forward/backward split, per-layer detail."""
    op_of_output = {
        output: op["op"] for op in (program.reference or []) for output in op["outputs"]
    }
    names = list(op_of_output) + [t.name for t in program.tensors]
    qualified = bool(names) and all("." in name for name in names)
    labels = report["labels"]
    intervals: dict[str, list[tuple[float, float]]] = {"forward": [], "backward": []}
    dram: dict[str, int] = {"forward": 0, "backward": 0}
    for label, stats in labels.items():
        kind = label_kind(label, op_of_output)
        if kind in intervals:
            intervals[kind].append((stats["start"], stats["end"]))
            dram[kind] += stats["dram_read_bytes"] + stats["dram_write_bytes"]
    return {
        "cycles": report["cycles"],
        "seconds": report["seconds"],
        "macs": report["macs"],
        "instructions": report["instructions"],
        "utilization": report["utilization"],
        "dram_read_bytes": report["dram_read_bytes"],
        "dram_write_bytes": report["dram_write_bytes"],
        "forward_cycles": union_cycles(intervals["forward"]),
        "backward_cycles": union_cycles(intervals["backward"]),
        "forward_dram_bytes": dram["forward"],
        "backward_dram_bytes": dram["backward"],
        "layers": _layers(program, report, op_of_output, qualified),
    }


def _used_tensors(program: Program) -> set[str] | None:
    """The tensors some source op reads or writes (None: the program carries no source ops).

    An argument that no op reads (a weight whose gradient alone is computed)
    is never loaded, so it is no compulsory traffic.
    """
    if program.reference is None:
        return None
    return {name for op in program.reference for name in (*op["inputs"], *op["outputs"])}


def _layers(program: Program, report: dict, op_of_output: dict[str, str], qualified: bool) -> list:
    target = program.target
    schedules: dict[str, dict] = {}
    cores_of: dict[str, set[int]] = {}
    for entry in program.meta.get("layers", []):
        cores_of.setdefault(entry["name"], set()).add(entry["core"])
        if entry["name"] not in schedules:
            schedules[entry["name"]] = entry["schedule"]
    layers: dict[str, dict] = {}

    def layer(name: str) -> dict:
        if name not in layers:
            layers[name] = {
                "name": name,
                "ops": [],
                "cycles": 0,
                "macs": 0,
                "compute_bound_cycles": 0,
                "data_bound_cycles": 0,
                "compulsory_bytes": 0,
                "dram_read_bytes": 0,
                "dram_write_bytes": 0,
                "traffic": {},
                "_intervals": [],
            }
        return layers[name]

    for op in program.reference or []:  # layers in the order of the source
        for output in op["outputs"]:
            layer(_layer_of(output, qualified))
    by_start = sorted(report["labels"].items(), key=lambda item: (item[1]["start"], item[0]))
    for label, stats in by_start:
        record = layer(_layer_of(label, qualified))
        record["ops"].append(
            {
                "label": _short(label, qualified),
                "kind": label_kind(label, op_of_output),
                "schedule": schedules.get(label),
                "cores": len(cores_of.get(label, ())),
            }
        )
        record["macs"] += stats["macs"]
        record["_intervals"].append((stats["start"], stats["end"]))
    used = _used_tensors(program)
    for tensor in program.tensors:
        record = layer(_layer_of(tensor.name, qualified))
        if tensor.role in ("input", "output") and (used is None or tensor.name in used):
            record["compulsory_bytes"] += tensor.nbytes
    for name, traffic in report["traffic"].items():
        record = layer(_layer_of(name, qualified))
        record["traffic"][_short(name, qualified)] = dict(traffic)
        record["dram_read_bytes"] += traffic["read"]
        record["dram_write_bytes"] += traffic["write"]
    pes = target.pes * target.cores
    for record in layers.values():
        record["cycles"] = union_cycles(record.pop("_intervals"))
        record["compute_bound_cycles"] = math.ceil(record["macs"] / pes)
        record["data_bound_cycles"] = math.ceil(
            record["compulsory_bytes"] / target.dram_bytes_per_cycle
        )
    return list(layers.values())
