"""``--plot FILE.png``: grouped bars as in the paper's figures (needs matplotlib).

One column of panels per target; the top row is execution time
(forward + backward), the bottom row DRAM traffic, both normalised to the
reference pipeline. In each panel, a group of bars per model and one for the
average, a bar per pipeline; a failed job is an ``x`` where its bar would be.
matplotlib is an optional extra of igoc (``pip install matplotlib``), imported
only here.
"""

from __future__ import annotations

import importlib.util
import os

from igoc.bench.tables import METRICS, Bench, averages, describe_batch, ratio
from igoc.output import open_output

TITLES = {"time": "execution time", "dram": "DRAM traffic"}

MISSING = "--plot needs matplotlib, which is not installed (pip install matplotlib)"


def available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def write_plot(bench: Bench, path: str) -> None:
    """Draw the figure and write it to ``path`` (``-``: standard output) by ``igoc.output``'s
    rules; PNG unless the suffix names another format matplotlib writes (``.svg``, ``.pdf``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = METRICS[:2]
    columns = len(bench.targets)
    figure, axes = plt.subplots(
        len(metrics), columns, figsize=(max(6.0, 5.5 * columns), 7.0), squeeze=False
    )
    width = 0.8 / len(bench.pipelines)
    for column, target in enumerate(bench.targets):
        labels = [row.workload.row for row in target.rows] + ["avg"]
        for line, metric in enumerate(metrics):
            axis = axes[line][column]
            means, _ = averages(target, metric, bench.pipelines, bench.reference)
            count = len(bench.pipelines)
            for index, pipeline in enumerate(bench.pipelines):
                values = [ratio(row, metric, pipeline, bench.reference) for row in target.rows]
                values.append(means[pipeline])
                offsets = [x + (index - (count - 1) / 2) * width for x in range(len(labels))]
                axis.bar(offsets, [0.0 if v is None else v for v in values], width, label=pipeline)
                for offset, value in zip(offsets, values, strict=True):
                    if value is None:  # a failed job: no bar, a mark where it would stand
                        axis.text(offset, 0.02, "x", ha="center", fontsize=7, color="red")
            axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
            axis.axhline(1.0, color="black", linewidth=0.6)
            axis.set_ylabel(f"normalised to {bench.reference}")
            name = TITLES[metric.name]
            batch = describe_batch(target.run, [row.workload for row in target.rows])
            axis.set_title(f"{target.run.name} ({batch}): {name}")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    kind = suffix if suffix in figure.canvas.get_supported_filetypes() else "png"
    # No software version in a PNG, so that equal results give equal bytes.
    metadata = {"metadata": {"Software": None}} if kind == "png" else {}
    try:
        with open_output(path) as stream:
            figure.savefig(stream, format=kind, dpi=120, **metadata)
    finally:
        plt.close(figure)
