"""``--json`` and ``--csv``: the benchmark as one JSON object, or one CSV row per job.

The JSON schema is documented in ``igoc/bench/README.md`` (``schema_version``
:data:`SCHEMA_VERSION`); a change that removes or renames a key bumps it.
Every run has every key; figures of a failed run are ``null``. Measurements
of this machine (compile and simulation seconds, peak memory) are included
only when asked (``timings``), so that the same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json

from igoc.bench.tables import AVERAGE_NOTE, METRICS, Bench, averages, figure, ratio
from igoc.target.spec import KEY_TYPES

SCHEMA_VERSION = 1

RUN_FIGURES = (
    "cycles",
    "seconds",
    "macs",
    "instructions",
    "utilization",
    "dram_read_bytes",
    "dram_write_bytes",
    "forward_cycles",
    "backward_cycles",
    "forward_dram_bytes",
    "backward_dram_bytes",
)
"""The figures of a run, as in its result record (``igoc.bench.summary``)."""

TIMING_KEYS = ("compile_s", "simulate_s", "peak_rss_bytes")


def runs(bench: Bench, layers: bool = False, timings: bool = False) -> list[dict]:
    """One record per (target, model, pipeline), in table order."""
    records = []
    for target in bench.targets:
        for row in target.rows:
            for pipeline in bench.pipelines:
                result = row.results.get(pipeline) or {"status": "failed", "error": "not run"}
                ok = result.get("status") == "ok"
                record: dict = {
                    "row": row.workload.row,
                    "model": row.workload.model,
                    "batch": row.workload.batch,
                    "input": row.workload.input_name,
                    "target": target.run.name,
                    "target_spec": target.run.keys(),
                    "pipeline": pipeline,
                    "status": "ok" if ok else "failed",
                    "stage": None if ok else result.get("stage"),
                    "error": None if ok else result.get("error"),
                }
                record.update({key: result.get(key) if ok else None for key in RUN_FIGURES})
                record["normalised"] = {
                    metric.name: ratio(row, metric, pipeline, bench.reference) for metric in METRICS
                }
                if layers:
                    record["layers"] = result.get("layers", []) if ok else []
                if timings:
                    timing = result.get("timing", {})
                    record["timing"] = {key: timing.get(key) for key in TIMING_KEYS}
                records.append(record)
    return records


def document(bench: Bench, compiler: str, layers: bool = False, timings: bool = False) -> dict:
    """The whole benchmark as one JSON-ready object."""
    targets = []
    for target in bench.targets:
        tables = {}
        for metric in METRICS:
            means, count = averages(target, metric, bench.pipelines, bench.reference)
            scale = metric.scale(target.run)
            reference = {}
            for row in target.rows:
                value = figure(row.results.get(bench.reference), metric)
                reference[row.workload.row] = None if value is None else value * scale
            tables[metric.name] = {
                "title": metric.title,
                "unit": metric.unit,
                "reference": reference,
                "average": means,
                "models_averaged": count,
            }
        targets.append(
            {
                "name": target.run.name,
                "spec": target.run.spec,
                "variant": target.run.variant,
                "batch": target.run.batch,
                "target": target.run.target.as_dict(),
                "models": [row.workload.row for row in target.rows],
                "tables": tables,
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "igoc-bench",
        "compiler": compiler,
        "regime": bench.regime,
        "reference_pipeline": bench.reference,
        "pipelines": list(bench.pipelines),
        "im2col": bench.im2col,
        "average": AVERAGE_NOTE,
        "metrics": {metric.name: metric.title for metric in METRICS},
        "targets": targets,
        "runs": runs(bench, layers, timings),
    }


def to_json(bench: Bench, compiler: str, layers: bool = False, timings: bool = False) -> str:
    """The JSON text of :func:`document`, indented, keys in a fixed order."""
    return json.dumps(document(bench, compiler, layers, timings), indent=1) + "\n"


TARGET_COLUMNS = tuple(f"target.{key}" for key in KEY_TYPES)
"""The CSV columns of the target's full description (``target_spec`` in JSON)."""

CSV_COLUMNS = (
    "row",
    "model",
    "batch",
    "input",
    "target",
    *TARGET_COLUMNS,
    "pipeline",
    "status",
    *RUN_FIGURES,
    *(f"{metric.name}_ratio" for metric in METRICS),
    "error",
)


def to_csv(bench: Bench, timings: bool = False) -> str:
    """One row per (model, target, pipeline); empty cells for missing figures."""
    columns = list(CSV_COLUMNS) + (list(TIMING_KEYS) if timings else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in runs(bench, timings=timings):
        flat = dict(record)
        flat.update({f"{k}_ratio": v for k, v in record["normalised"].items()})
        flat.update({f"target.{k}": v for k, v in record["target_spec"].items()})
        flat.update(record.get("timing", {}))
        writer.writerow(["" if flat.get(c) is None else flat[c] for c in columns])
    return out.getvalue()
