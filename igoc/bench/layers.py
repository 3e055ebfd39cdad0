"""``--layers``: per model and target, what each layer got under each pipeline and what it cost.

One row per (layer, pipeline): the schedule of its backward ops (the tile
order of a fused ``dx+dw``, or each separate op's loop order), the partition,
the cycles the layer spans, its lower bound (the larger of the compute bound,
MACs / PEs, and the data bound, compulsory bytes / DRAM bytes per cycle; see
:mod:`igoc.bench.summary`) with which of the two it is, cycles / bound, and
the DRAM traffic of each of its tensors in kB (``r`` read, ``w`` written).
"""

from __future__ import annotations

from igoc.bench.tables import Bench, TargetResults, grid


def _schedule(op: dict) -> str:
    schedule = op.get("schedule") or {}
    text = f"{op['label']}:{schedule.get('order', '?')}"
    loops = schedule.get("loops")
    if loops:
        text += "(" + ",".join(str(loop) for loop in loops) + ")"
    return text


def _partition(ops: list[dict]) -> str:
    texts = []
    for op in ops:
        partition = (op.get("schedule") or {}).get("partition") or {}
        dim, parts, cores = partition.get("dim", "none"), partition.get("parts", 1), op["cores"]
        text = "none" if dim == "none" or parts == 1 else f"{dim}/{parts}"
        if cores > 1:
            text += f" on {cores} cores"
        if text not in texts:
            texts.append(text)
    return "; ".join(texts) or "-"


def _traffic(traffic: dict[str, dict]) -> str:
    parts = []
    for name, counts in traffic.items():
        read, write = counts.get("read", 0), counts.get("write", 0)
        sides = [f"{read / 1e3:.1f}r"] if read else []
        sides += [f"{write / 1e3:.1f}w"] if write else []
        if sides:
            parts.append(f"{name}={'+'.join(sides)}")
    return " ".join(parts)


def layer_row(layer: dict, pipeline: str) -> list[str]:
    """The cells of one layer under one pipeline."""
    # Ops with a schedule: fills, copies and conversions (``dx:zero``) have none to show.
    backward = [op for op in layer["ops"] if op["kind"] == "backward" and op.get("schedule")]
    compute, data = layer["compute_bound_cycles"], layer["data_bound_cycles"]
    bound = max(compute, data, 1)
    return [
        layer["name"],
        pipeline,
        " ".join(_schedule(op) for op in backward) or "-",
        _partition(backward or layer["ops"]),
        str(layer["cycles"]),
        str(bound),
        "compute" if compute >= data else "data",
        f"{layer['cycles'] / bound:.2f}",
        f"{(layer['dram_read_bytes'] + layer['dram_write_bytes']) / 1e3:.1f}",
        _traffic(layer["traffic"]),
    ]


HEADER = [
    "layer",
    "pipeline",
    "backward schedule",
    "partition",
    "cycles",
    "bound",
    "bound by",
    "x bound",
    "DRAM kB",
    "traffic per tensor (kB)",
]
NUMERIC_COLUMNS = (4, 5, 7, 8)


def render_target_layers(bench: Bench, target: TargetResults) -> list[str]:
    """The per-layer tables of every model of one target."""
    lines: list[str] = []
    for row in target.rows:
        title = f"-- {row.workload.input_name} on {target.run.name}: per layer"
        per_pipeline = {
            p: {layer["name"]: layer for layer in row.results[p].get("layers", [])}
            for p in bench.pipelines
            if row.results.get(p, {}).get("status") == "ok"
        }
        if not per_pipeline:
            lines += [title, "  (no pipeline ran)", ""]
            continue
        names: list[str] = []
        for layers in per_pipeline.values():
            names += [name for name in layers if name not in names]
        cells = [HEADER]
        for name in names:
            for pipeline, layers in per_pipeline.items():
                if name in layers:
                    cells.append(layer_row(layers[name], pipeline))
        lines += [title, *grid(cells, NUMERIC_COLUMNS), ""]
    return lines


def render_layers(bench: Bench) -> str:
    """Per-layer detail of every model on every target, as text."""
    lines: list[str] = []
    for target in bench.targets:
        lines += render_target_layers(bench, target)
    return "\n".join(lines)
