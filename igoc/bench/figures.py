"""``igoc-bench --regime paper --figures DIR``: the paper's figures, its numbers beside igoc's.

One table per figure of the paper's evaluation, each cell the paper's number
(:mod:`igoc.bench.paper_values`, with its source) beside igoc's, written to
``DIR`` as text (``<figure>.txt``), CSV (``<figure>.csv``) and, when matplotlib
can be imported, a plot (``<figure>.png``):

- ``steps``: the three cumulative steps on edge and the 1-core server;
- ``models``: the per-network normalised times after all three (Fig. 12);
- ``cores``: the server with 1, 2, 4, 8 cores (``server``, ``server-2c``, ...);
- ``bandwidth``: the 1-core server at 150, 75 and 37.5 GB/s;
- ``batch``: the 1-core server at batch 8, 16, 32;
- ``algorithm1``: Algorithm 1 against the per-layer order oracle;
- ``layers``: per layer, DRAM traffic against time (§6.2), the layers grouped
  by what bounds them under the baseline.

Every number of igoc's is the same figure as the main tables': igo's (or a
step's) execution time over the reference pipeline's, per model, and their
arithmetic mean (a reduction is 1 − that mean). The pipelines are the
regime's (:mod:`igoc.bench.regime`); in the paper regime, ``baseline-paper``
and the ``-paper`` pipelines. A figure is a set of *points* (a target, the
settings it runs with, a pipeline); the points become one plan per target run
and all the plans' jobs one run, so equal jobs run once and the cache keeps
them.
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from igoc.bench import paper_values as pv
from igoc.bench import workloads as w
from igoc.bench.plan import Plan, plan
from igoc.bench.regime import REGIMES, Regime
from igoc.bench.tables import METRICS, Bench, TargetResults, averages, grid, ratio

ROLES = ("interleave", "rearrange", "igo", "alg1", "oracle")
"""What a point measures, named by its place in a regime (its pipeline follows the regime)."""

FIGURE_KEYS = ("batch", "dram_bandwidth_gb_per_s")
"""Target keys the figures set themselves (a user's --set of them would change a figure)."""


def role_pipeline(regime: Regime, role: str) -> str:
    """The pipeline that measures ``role`` in ``regime``."""
    steps = dict(zip(ROLES[:3], regime.steps, strict=True))
    return {**steps, "alg1": regime.alg1, "oracle": regime.oracle}[role]


@dataclass(frozen=True)
class Point:
    """A target run and a pipeline: where one of igoc's numbers comes from."""

    target: str  # a preset
    role: str = "igo"
    settings: tuple[w.Setting, ...] = ()


@dataclass(frozen=True)
class Cell:
    """One number of a figure: the paper's and where igoc's comes from."""

    row: str
    column: str
    point: Point
    paper: pv.PaperValue | None
    model: str | None = None  # a network's row: its own ratio; None: the average


@dataclass(frozen=True)
class Figure:
    """One of the paper's figures as a table: rows, columns, cells."""

    name: str  # the files' stem
    title: str
    source: str
    row_header: str
    cells: tuple[Cell, ...]
    percent: bool = True  # reductions in percent; otherwise normalised times


def figures(rows: Sequence[str]) -> list[Figure]:
    """The paper's figures, for the network rows ``rows`` (the per-model figure's rows)."""
    step_names = ("+ interleaving", "+ rearrangement", "+ partitioning")
    steps = [
        Cell(name, column, Point(column, role), pv.STEPS[column][index])
        for index, (name, role) in enumerate(zip(step_names, ROLES[:3], strict=True))
        for column in ("edge", "server")
    ]
    models = [
        Cell(
            row,
            column,
            Point(column),
            _approximate(pv.MODELS[column].get(row)),
            None if row == "avg" else row,
        )
        for row in [*rows, "avg"]
        for column in ("edge", "server")
    ]
    presets = {1: "server", 2: "server-2c", 4: "server-4c", 8: "server-8c"}
    cores = [
        Cell(str(count), "server", Point(presets[count]), value)
        for count, value in pv.CORES.items()
    ]
    bandwidth = [
        Cell(
            f"{gbps:g} GB/s per core",
            "server",
            Point("server", settings=(("dram_bandwidth_gb_per_s", gbps),)),
            value,
        )
        for gbps, value in pv.BANDWIDTH.items()
    ]
    batch = [
        Cell(str(size), "server", Point("server", settings=(("batch", size),)), value)
        for size, value in pv.BATCH.items()
    ]
    algorithm1 = [
        Cell(name, column, Point(column, role), pv.ALGORITHM1[column][index])
        for index, (name, role) in enumerate(
            (("Algorithm 1", "alg1"), ("per-layer oracle", "oracle"))
        )
        for column in ("edge", "server")
    ]
    return [
        Figure(
            "steps",
            "Step breakdown: average reduction of execution time, the techniques cumulative",
            pv.STEPS_SOURCE,
            "step",
            tuple(steps),
        ),
        Figure(
            "models",
            "Per network: execution time after all three techniques, normalised to the baseline",
            pv.MODELS_SOURCE,
            "network",
            tuple(models),
            percent=False,
        ),
        Figure(
            "cores",
            "Cores: average reduction of execution time on the server NPU, 8 samples per core",
            pv.CORES_SOURCE,
            "cores",
            tuple(cores),
        ),
        Figure(
            "bandwidth",
            "DRAM bandwidth: average reduction of execution time on the 1-core server NPU",
            pv.BANDWIDTH_SOURCE,
            "DRAM bandwidth",
            tuple(bandwidth),
        ),
        Figure(
            "batch",
            "Batch: average reduction of execution time on the 1-core server NPU",
            pv.BATCH_SOURCE,
            "batch",
            tuple(batch),
        ),
        Figure(
            "algorithm1",
            "Algorithm 1 against the per-layer oracle of the order (no partitioning: the batch "
            "split)",
            pv.ALGORITHM1_SOURCE,
            "order chosen by",
            tuple(algorithm1),
        ),
    ]


def _approximate(value: float | None) -> pv.PaperValue | None:
    return None if value is None else pv.PaperValue(value, approximate=True)


LAYER_POINTS = (Point("edge"), Point("server"))
"""The runs whose layers the scatter shows."""


# ---- planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigurePlan:
    """The figures, and one plan per target run their points need."""

    regime: Regime
    figures: list[Figure]
    plans: dict[tuple[str, tuple[w.Setting, ...]], Plan]  # (target, settings) -> its plan


def plan_figures(
    regime: str = "paper",
    models: Sequence[str] | None = None,
    settings: Sequence[w.Setting] = (),
    im2col: str = "on-the-fly",
    models_dir: pathlib.Path | None = None,
    quick: bool = False,
) -> FigurePlan:
    """The figures of ``regime`` and the plans of their target runs.

    ``settings`` (the user's ``--set``) apply to every target run, before a
    figure's own; a key a figure sets itself (:data:`FIGURE_KEYS`) cannot be set.
    """
    chosen = REGIMES[regime]
    for key, _ in settings:
        if key in FIGURE_KEYS:
            raise w.BenchUsageError(
                f"--figures sets key '{key}' itself (the {_figure_of(key)} figure); "
                "it cannot be set with --figures"
            )
    choices = (
        [w.model_choice(name) for name in dict.fromkeys(models)]
        if models
        else w.default_models(quick)
    )
    rows = list(dict.fromkeys(choice.label for choice in choices))
    chosen_figures = figures(rows)
    points = [cell.point for figure in chosen_figures for cell in figure.cells]
    points += list(LAYER_POINTS)
    roles: dict[tuple[str, tuple[w.Setting, ...]], list[str]] = {}
    for point in points:
        wanted = roles.setdefault((point.target, point.settings), [])
        pipeline = role_pipeline(chosen, point.role)
        if pipeline not in wanted:
            wanted.append(pipeline)
    plans = {
        key: plan(
            targets=[key[0]],
            models=models,
            pipelines=pipelines,
            settings=[*settings, *key[1]],
            im2col=im2col,
            models_dir=models_dir,
            quick=quick,
            regime=regime,
        )
        for key, pipelines in roles.items()
    }
    return FigurePlan(chosen, chosen_figures, plans)


def _figure_of(key: str) -> str:
    return "batch" if key == "batch" else "bandwidth"


# ---- numbers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """igoc's number for a cell: the value (None when a job failed) and what it averaged."""

    value: float | None
    target: str  # the target run's name
    pipeline: str
    reference: str
    models_averaged: int


def cell_value(regime: Regime, cell: Cell, bench: Bench, percent: bool = True) -> Value:
    """igoc's number for a cell, from its target run's benchmark: a network's time ratio, or
    the mean of the networks' (``percent``: as a reduction, 1 - that mean)."""
    (target,) = bench.targets
    pipeline = role_pipeline(regime, cell.point.role)
    reference = bench.reference
    time = METRICS[0]
    if cell.model is not None:
        rows = [row for row in target.rows if row.workload.row == cell.model]
        value = ratio(rows[0], time, pipeline, reference) if rows else None
        return Value(value, target.run.name, pipeline, reference, 1 if value is not None else 0)
    means, count = averages(target, time, [reference, pipeline], reference)
    mean = means[pipeline]
    value = 1 - mean if percent and mean is not None else mean
    return Value(value, target.run.name, pipeline, reference, count)


@dataclass(frozen=True)
class FigureResult:
    """A figure and igoc's number for each of its cells."""

    figure: Figure
    values: list[Value]
    models: list[str]  # the network rows run


@dataclass(frozen=True)
class LayerPoint:
    """One layer of one network on one target: its traffic and time under igo, normalised."""

    target: str
    model: str
    layer: str
    bound: str  # memory-bound or compute-bound, under the reference pipeline
    traffic: float
    time: float


def benches_of(planned: FigurePlan, results: Sequence[Sequence[dict]]) -> dict:
    """Each target run's benchmark from its plan's results (``results`` in plan order)."""
    return {
        key: item.bench(records)
        for (key, item), records in zip(planned.plans.items(), results, strict=True)
    }


def figure_results(planned: FigurePlan, benches: dict) -> list[FigureResult]:
    """igoc's numbers for every figure."""
    out = []
    for figure in planned.figures:
        values = []
        models: list[str] = []
        for cell in figure.cells:
            bench = benches[(cell.point.target, cell.point.settings)]
            values.append(cell_value(planned.regime, cell, bench, figure.percent))
            models = models or [row.workload.row for row in bench.targets[0].rows]
        out.append(FigureResult(figure, values, models))
    return out


def layer_points(planned: FigurePlan, benches: dict) -> list[LayerPoint]:
    """Every layer of every network on the scatter's targets, under igo against the reference."""
    points = []
    for point in LAYER_POINTS:
        bench = benches[(point.target, point.settings)]
        pipeline = role_pipeline(planned.regime, point.role)
        (target,) = bench.targets
        for row in target.rows:
            points += _layers(target, row.workload.row, row.results, bench.reference, pipeline)
    return points


def _layers(
    target: TargetResults, model: str, results: dict, reference: str, pipeline: str
) -> list[LayerPoint]:
    base, igo = results.get(reference), results.get(pipeline)
    if not base or not igo or base.get("status") != "ok" or igo.get("status") != "ok":
        return []
    points = []
    for before, after in zip(base.get("layers", []), igo.get("layers", []), strict=False):
        traffic = before["dram_read_bytes"] + before["dram_write_bytes"]
        if before["name"] != after["name"] or not traffic or not before["cycles"]:
            continue
        bound = (
            "memory-bound"
            if before["data_bound_cycles"] >= before["compute_bound_cycles"]
            else "compute-bound"
        )
        points.append(
            LayerPoint(
                target.run.name,
                model,
                before["name"],
                bound,
                (after["dram_read_bytes"] + after["dram_write_bytes"]) / traffic,
                after["cycles"] / before["cycles"],
            )
        )
    return points


# ---- text and CSV -------------------------------------------------------------------------------


def _ours(value: float | None, percent: bool) -> str:
    if value is None:
        return "failed"
    return f"{value * 100:.1f}%" if percent else f"{value:.3f}"


def render_figure(result: FigureResult, regime: Regime) -> str:
    """A figure as text: a row per row, the paper's number and igoc's per column."""
    figure = result.figure
    columns = list(dict.fromkeys(cell.column for cell in figure.cells))
    row_names = list(dict.fromkeys(cell.row for cell in figure.cells))
    by_cell = {
        (cell.row, cell.column): (cell, value)
        for cell, value in zip(figure.cells, result.values, strict=True)
    }
    header = [figure.row_header, "pipeline"]
    for column in columns:
        header += [f"{column}: paper", f"{column}: igoc"]
    rows = [header]
    for name in row_names:
        first = next(by_cell[(name, c)] for c in columns if (name, c) in by_cell)
        cells = [name, first[1].pipeline]
        for column in columns:
            if (name, column) not in by_cell:
                cells += ["", ""]
                continue
            cell, value = by_cell[(name, column)]
            paper = "-" if cell.paper is None else cell.paper.text(figure.percent)
            cells += [paper, _ours(value.value, figure.percent)]
        rows.append(cells)
    reference = result.values[0].reference
    models = ", ".join(result.models)
    approximate = any(cell.paper is not None and cell.paper.approximate for cell in figure.cells)
    lines = [
        figure.title,
        f"paper: {figure.source}" + ("; ≈: read off a plot" if approximate else ""),
        f"igoc: {regime.name} regime, against {reference}; "
        f"{'the mean of the per-model ratios' if figure.percent else 'time ratios'} over "
        f"{len(result.models)} network(s): {models}",
        "",
        *grid(rows, range(2, len(header))),
    ]
    if figure.percent:
        lines.append("  reduction: 1 - the mean of the per-model time ratios")
    return "\n".join(lines) + "\n"


def figure_csv(result: FigureResult) -> str:
    """A figure as CSV: one row per cell, the paper's number beside igoc's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    unit = "reduction_percent" if result.figure.percent else "normalised_time"
    writer.writerow(
        [
            "figure",
            "row",
            "column",
            "target",
            "pipeline",
            "reference",
            "unit",
            "paper",
            "paper_approximate",
            "igoc",
            "models_averaged",
            "source",
        ]
    )
    for cell, value in zip(result.figure.cells, result.values, strict=True):
        ours = value.value
        if ours is not None and result.figure.percent:
            ours = ours * 100
        writer.writerow(
            [
                result.figure.name,
                cell.row,
                cell.column,
                value.target,
                value.pipeline,
                value.reference,
                unit,
                "" if cell.paper is None else cell.paper.value,
                "" if cell.paper is None else str(cell.paper.approximate).lower(),
                "" if ours is None else round(ours, 6),
                value.models_averaged,
                result.figure.source,
            ]
        )
    return out.getvalue()


def _range(values: list[float]) -> str:
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return f"{min(values):.2f}-{max(values):.2f} (mean {mean:.2f})"


def render_layers(points: Sequence[LayerPoint], regime: Regime, pipeline: str) -> str:
    """The layer scatter as text: per target and kind of layer, the ranges of both ratios."""
    rows = [["target", "layers", "count", "traffic ratio", "time ratio", "paper"]]
    targets = list(dict.fromkeys(point.target for point in points))
    for target in targets:
        for bound, said in pv.LAYERS.items():
            chosen = [p for p in points if p.target == target and p.bound == bound]
            rows.append(
                [
                    target,
                    bound,
                    str(len(chosen)),
                    _range([p.traffic for p in chosen]),
                    _range([p.time for p in chosen]),
                    said,
                ]
            )
    lines = [
        "Per layer: DRAM traffic and execution time under igo, normalised to the baseline",
        f"paper: {pv.LAYERS_SOURCE}",
        f"igoc: {regime.name} regime, {pipeline} against {regime.reference}; a layer is "
        "memory-bound when its compulsory DRAM transfers take at least as long as its MACs "
        "on the array, under the reference; every layer in layers.csv",
        "",
        *grid(rows, range(2, 3)),
    ]
    return "\n".join(lines) + "\n"


def layers_csv(points: Sequence[LayerPoint]) -> str:
    """Every layer point as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["target", "model", "layer", "bound", "traffic_ratio", "time_ratio"])
    for p in points:
        writer.writerow(
            [p.target, p.model, p.layer, p.bound, round(p.traffic, 6), round(p.time, 6)]
        )
    return out.getvalue()


# ---- plots --------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: pathlib.Path) -> None:
    from igoc.output import open_output

    plt = _pyplot()
    try:
        with open_output(path) as stream:  # no software version: equal results, equal bytes
            figure.savefig(stream, format="png", dpi=110, metadata={"Software": None})
    finally:
        plt.close(figure)


def plot_figure(result: FigureResult, path: pathlib.Path) -> None:
    """Grouped bars: per row and column, the paper's number and igoc's."""
    plt = _pyplot()
    figure_ = result.figure
    columns = list(dict.fromkeys(cell.column for cell in figure_.cells))
    row_names = list(dict.fromkeys(cell.row for cell in figure_.cells))
    scale = 100.0 if figure_.percent else 1.0
    fig, axes = plt.subplots(
        1,
        len(columns),
        figsize=(max(5.0, 0.7 * len(row_names) + 2) * len(columns), 4.0),
        squeeze=False,
    )
    for axis, column in zip(axes[0], columns, strict=True):
        paper, ours = [], []
        for name in row_names:
            match = [
                (c, v)
                for c, v in zip(figure_.cells, result.values, strict=True)
                if c.row == name and c.column == column
            ]
            cell, value = match[0] if match else (None, None)
            paper.append(cell.paper.value if cell is not None and cell.paper else 0.0)
            ours.append(
                value.value * scale if value is not None and value.value is not None else 0.0
            )
        positions = range(len(row_names))
        axis.bar([x - 0.2 for x in positions], paper, 0.4, label="paper")
        axis.bar([x + 0.2 for x in positions], ours, 0.4, label="igoc")
        axis.set_xticks(list(positions), row_names, rotation=30, ha="right", fontsize=8)
        axis.set_ylabel("reduction of time [%]" if figure_.percent else "normalised time")
        axis.set_title(column)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(figure_.title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def plot_layers(points: Sequence[LayerPoint], path: pathlib.Path) -> None:
    """A scatter per target: traffic ratio against time ratio, a colour per kind of layer."""
    plt = _pyplot()
    targets = list(dict.fromkeys(point.target for point in points)) or ["-"]
    fig, axes = plt.subplots(1, len(targets), figsize=(5.0 * len(targets), 4.5), squeeze=False)
    for axis, target in zip(axes[0], targets, strict=True):
        for bound in pv.LAYERS:
            chosen = [p for p in points if p.target == target and p.bound == bound]
            axis.scatter([p.traffic for p in chosen], [p.time for p in chosen], s=10, label=bound)
        axis.plot([0, 1.2], [0, 1.2], color="black", linewidth=0.5)
        axis.set_xlabel("DRAM traffic, normalised")
        axis.set_ylabel("execution time, normalised")
        axis.set_title(target)
        axis.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


# ---- writing ------------------------------------------------------------------------------------


def write_figures(
    folder: pathlib.Path,
    planned: FigurePlan,
    results: Sequence[Sequence[dict]],
    plots: bool,
) -> tuple[str, list[pathlib.Path]]:
    """Write every figure to ``folder``; the text of all of them, and the files written."""
    from igoc.output import write_output

    benches = benches_of(planned, results)
    written: list[pathlib.Path] = []
    texts = []

    def put(name: str, data: str) -> None:
        path = folder / name
        write_output(path, data)
        written.append(path)

    for result in figure_results(planned, benches):
        text = render_figure(result, planned.regime)
        texts.append(text)
        put(f"{result.figure.name}.txt", text)
        put(f"{result.figure.name}.csv", figure_csv(result))
        if plots:
            plot_figure(result, folder / f"{result.figure.name}.png")
            written.append(folder / f"{result.figure.name}.png")
    points = layer_points(planned, benches)
    igo = role_pipeline(planned.regime, "igo")
    text = render_layers(points, planned.regime, igo)
    texts.append(text)
    put("layers.txt", text)
    put("layers.csv", layers_csv(points))
    if plots:
        plot_layers(points, folder / "layers.png")
        written.append(folder / "layers.png")
    return "\n".join(texts), written
