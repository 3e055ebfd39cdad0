"""The paper-style tables: per target, each model's figure under each pipeline / the baseline's.

Four metrics (:data:`METRICS`): execution time of forward + backward, DRAM
traffic (read + write), and both for the backward pass alone. A cell is the
pipeline's figure divided by the reference pipeline's (``baseline``) on the
same model and target; the reference column shows the absolute figure. The
``average`` row is the arithmetic mean of the per-model ratios, over the
models on which every pipeline ran (the paper's "average reduction" is
1 − that mean). The closing summary gives, per pipeline and target, that
average reduction of execution time, as the paper's results table does.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from igoc.bench.workloads import TargetRun, Workload


@dataclass(frozen=True)
class Metric:
    """One figure of a result record, how to show its absolute value, and a title."""

    name: str  # key in JSON and CSV
    title: str
    value: Callable[[dict], float]  # the figure of an ``ok`` result record
    unit: str  # unit of the reference column
    scale: Callable[[TargetRun], float]  # multiplier from the figure to the unit


def _ms(run: TargetRun) -> float:
    return 1e3 / run.target.clock_hz


def _mb(run: TargetRun) -> float:
    return 1e-6


METRICS = (
    Metric("time", "Execution time, forward + backward", lambda r: r["cycles"], "ms", _ms),
    Metric(
        "dram",
        "DRAM traffic (read + write), forward + backward",
        lambda r: r["dram_read_bytes"] + r["dram_write_bytes"],
        "MB",
        _mb,
    ),
    Metric("backward_time", "Backward only: time", lambda r: r["backward_cycles"], "ms", _ms),
    Metric(
        "backward_dram",
        "Backward only: DRAM traffic",
        lambda r: r["backward_dram_bytes"],
        "MB",
        _mb,
    ),
)
"""The metrics of the tables, in the order they are printed."""

AVERAGE_NOTE = "arithmetic mean of the per-model ratios"


@dataclass(frozen=True)
class Row:
    """One model on one target: its workload and the result record of each pipeline."""

    workload: Workload
    results: dict[str, dict]  # pipeline -> result record


@dataclass(frozen=True)
class TargetResults:
    """Every row of one target run."""

    run: TargetRun
    rows: list[Row]


@dataclass(frozen=True)
class Bench:
    """A whole benchmark: pipelines in column order, the reference one, and every target."""

    pipelines: list[str]
    reference: str
    targets: list[TargetResults]
    im2col: str = "on-the-fly"
    regime: str = "strong"


# ---- numbers ------------------------------------------------------------------------------------


def figure(result: dict | None, metric: Metric) -> float | None:
    """The metric of a result record, or None when the job failed."""
    if result is None or result.get("status") != "ok":
        return None
    return float(metric.value(result))


def ratio(row: Row, metric: Metric, pipeline: str, reference: str) -> float | None:
    """The pipeline's figure over the reference's, or None when either is missing or zero."""
    value = figure(row.results.get(pipeline), metric)
    base = figure(row.results.get(reference), metric)
    if value is None or not base:
        return None
    return value / base


def averages(
    target: TargetResults, metric: Metric, pipelines: list[str], reference: str
) -> tuple[dict[str, float | None], int]:
    """Per pipeline, the mean ratio over the rows where every pipeline has one; and that count."""
    complete = []
    for row in target.rows:
        ratios = [ratio(row, metric, p, reference) for p in pipelines]
        if all(r is not None for r in ratios):
            complete.append(ratios)
    if not complete:
        return {p: None for p in pipelines}, 0
    means = {p: sum(r[i] for r in complete) / len(complete) for i, p in enumerate(pipelines)}
    return means, len(complete)  # type: ignore[return-value]


# ---- text ---------------------------------------------------------------------------------------


def describe_batch(run: TargetRun, workloads: Sequence[Workload] = ()) -> str:
    """The batch the workloads ran at: the target's, unless a model file fixed its own.

    A user's ``.mlir`` file (a workload without a batch) runs at the batch its
    tensors have, whatever the target's ``batch`` key says.
    """
    files = sum(1 for load in workloads if load.batch is None)
    if not files:
        return f"batch {run.batch}"
    if files == len(workloads):
        return "batch as in the model file" + ("s" if files > 1 else "")
    return f"batch {run.batch} (a .mlir file: its own)"


def describe_target(run: TargetRun, workloads: Sequence[Workload] = ()) -> str:
    """One line: the machine, the batch (see :func:`describe_batch`), the partial-sum width."""
    t = run.target
    cores = f"{t.cores} core{'s' if t.cores > 1 else ''}"
    spm = f"{t.spm_bytes / 2**20:g} MiB SPM{' per core' if t.cores > 1 else ''}"
    return (
        f"{run.name}: {cores} of {t.array_rows}x{t.array_cols} PEs at {t.clock_mhz:g} MHz, "
        f"{spm}, {t.dram_bandwidth_gb_per_s:g} GB/s DRAM; {describe_batch(run, workloads)}; "
        f"partial sums {t.psum_bytes} B"
    )


def grid(rows: list[list[str]], right_aligned: Container[int]) -> list[str]:
    """Rows of cells as aligned text lines (two spaces between columns)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i in right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _missing(result: dict | None) -> str:
    """What a cell without a figure says: the job failed, or was not run."""
    return "not run" if result is None or result.get("stage") == "not run" else "failed"


def _absolute(value: float) -> str:
    if value < 1:
        return f"{value:.4g}"
    return f"{value:.3f}" if value < 1000 else f"{value:.1f}"


def render_metric(bench: Bench, target: TargetResults, metric: Metric) -> list[str]:
    """One table: a row per model, the reference's absolute figure, then ratios."""
    others = [p for p in bench.pipelines if p != bench.reference]
    header = ["network", "model", f"{bench.reference} [{metric.unit}]", *others]
    rows = [header]
    scale = metric.scale(target.run)
    for row in target.rows:
        reference = row.results.get(bench.reference)
        base = figure(reference, metric)
        cells = [
            row.workload.row,
            row.workload.model,
            _missing(reference) if base is None else _absolute(base * scale),
        ]
        for pipeline in others:
            value = ratio(row, metric, pipeline, bench.reference)
            result = row.results.get(pipeline)
            if figure(result, metric) is None:
                cells.append(_missing(result))
            else:
                cells.append("-" if value is None else f"{value:.3f}")
        rows.append(cells)
    means, count = averages(target, metric, bench.pipelines, bench.reference)
    rows.append(["average", "", ""] + [_ratio_text(means[p]) for p in others])
    rows.append(["reduction", "", ""] + [_percent(means[p]) for p in others])
    lines = [f"{metric.title}, normalised to {bench.reference}", *grid(rows, range(2, len(header)))]
    lines.append(f"  average: {AVERAGE_NOTE} over {count} of {len(target.rows)} models;")
    lines.append("  reduction: 1 - average")
    return lines


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{(1 - value) * 100:.1f}%"


def failures(bench: Bench) -> list[str]:
    """One line per failed job: which, in which stage, why."""
    lines = []
    for target in bench.targets:
        for row in target.rows:
            for pipeline in bench.pipelines:
                result = row.results.get(pipeline)
                if result is not None and result.get("status") != "ok":
                    lines.append(
                        f"{row.workload.input_name} on {target.run.name}, {pipeline} "
                        f"({result.get('stage', '?')}): {result.get('error', '')}"
                    )
    return lines


def render_summary(bench: Bench) -> list[str]:
    """Average reduction of execution time per pipeline (rows) and target (columns)."""
    time_metric = METRICS[0]
    others = [p for p in bench.pipelines if p != bench.reference]
    rows = [["pipeline", *(t.run.name for t in bench.targets)]]
    for pipeline in others:
        cells = [pipeline]
        for target in bench.targets:
            means, _ = averages(target, time_metric, bench.pipelines, bench.reference)
            cells.append(_percent(means[pipeline]))
        rows.append(cells)
    title = f"Average reduction of execution time (forward + backward) against {bench.reference}"
    return [title, *grid(rows, range(1, len(rows[0])))]


def render_header(bench: Bench) -> list[str]:
    """The tables' header: the regime, what it means, and the reference pipeline."""
    from igoc.bench.regime import REGIMES

    known = REGIMES.get(bench.regime)
    meaning = f" ({known.summary})" if known is not None else ""
    return [
        f"Regime: {bench.regime}{meaning}",
        f"Reference pipeline: {bench.reference} (every ratio is against it)",
    ]


def render_tables(bench: Bench) -> str:
    """The header, every target's four tables, the failures, and the summary, as text."""
    lines: list[str] = [*render_header(bench), ""]
    for target in bench.targets:
        workloads = [row.workload for row in target.rows]
        lines += [f"== {describe_target(target.run, workloads)}", ""]
        for metric in METRICS:
            lines += render_metric(bench, target, metric)
            lines.append("")
    if len(bench.pipelines) > 1:
        lines += render_summary(bench)
        lines.append("")
    if bench.im2col != "on-the-fly":
        lines += [f"im2col: {bench.im2col} (conv-to-gemm{{im2col={bench.im2col}}})", ""]
    failed = failures(bench)
    if failed:
        lines += [f"{len(failed)} job(s) failed:", *(f"  {line}" for line in failed), ""]
    return "\n".join(lines)


def render_timings(bench: Bench) -> str:
    """Per job, the compile and simulation seconds and the peak memory (as measured when run)."""
    rows = [["target", "input", "pipeline", "compile s", "simulate s", "peak MB"]]
    for target in bench.targets:
        for row in target.rows:
            for pipeline in bench.pipelines:
                timing = (row.results.get(pipeline) or {}).get("timing", {})
                peak = timing.get("peak_rss_bytes")
                rows.append(
                    [
                        target.run.name,
                        row.workload.input_name,
                        pipeline,
                        _seconds(timing.get("compile_s")),
                        _seconds(timing.get("simulate_s")),
                        "-" if peak is None else f"{peak / 1e6:.0f}",
                    ]
                )
    title = "Timings (measured when each job ran; a cached job keeps its first run's figures)"
    return "\n".join([title, *grid(rows, range(3, 6)), ""])


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
