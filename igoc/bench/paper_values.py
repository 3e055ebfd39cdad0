"""The paper's numbers that ``igoc-bench --figures`` sets beside igoc's, each with its source.

J. Kim, S. Na, S. Lee, S. Lee, J. Huh, "Improving Data Reuse in NPU On-chip
Memory with Interleaved Gradient Order for DNN Training", MICRO 2023,
doi 10.1145/3613424.3614299. Every value is the paper's *average reduction of
execution time* (forward + backward, against its baseline) in percent, except
the per-model bars, which are normalised execution times. Values the paper
gives only as bars are read off the plot and marked approximate. Figures and
sections are named by number where the number is known, otherwise by what
they show.

Nothing here is measured: these are the paper's, typed in once, and igoc's own
figures come from running the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = "Kim et al., MICRO 2023"


@dataclass(frozen=True)
class PaperValue:
    """One number of the paper."""

    value: float  # percent reduction, or a normalised time
    approximate: bool = False  # read off a plot

    def text(self, percent: bool) -> str:
        """The value as the tables print it (``≈`` for a value read off a plot)."""
        mark = "≈" if self.approximate else ""
        return f"{mark}{self.value:.1f}%" if percent else f"{mark}{self.value:.2f}"


def _exact(*values: float) -> tuple[PaperValue, ...]:
    return tuple(PaperValue(value) for value in values)


STEPS_SOURCE = (
    f"{PAPER}, evaluation: the three techniques applied cumulatively, edge NPU and 1-core "
    "server NPU (Table 3)"
)
STEPS = {
    "edge": _exact(0.8, 23.8, 29.3),  # + interleaving, + rearrangement, + partitioning
    "server": _exact(7.4, 10.9, 14.5),
}
"""Per target: the reduction after each cumulative step."""

MODELS_SOURCE = (
    f"{PAPER}, Fig. 12: normalised execution time per network after all three techniques "
    "(single core; read off the bars)"
)
MODELS = {
    "edge": {
        "rcnn": 0.75,
        "goo": 0.60,
        "ncf": 0.61,
        "res": 0.62,
        "dlrm": 0.96,
        "mob": 0.64,
        "yolo": 0.71,
        "bert": 0.80,
        "T5": 0.67,
        "avg": 0.71,
    },
    "server": {
        "rcnn": 0.85,
        "goo": 0.83,
        "ncf": 0.75,
        "res": 0.88,
        "dlrm": 0.90,
        "mob": 0.87,
        "yolo": 0.80,
        "bert": 0.93,
        "T5": 0.88,
        "avg": 0.86,
    },
}
"""Per target and network label (``avg``: their mean): igo's time over the baseline's (≈)."""

CORES_SOURCE = (
    f"{PAPER}, evaluation: the server NPU with 1, 2, 4 and 8 cores, all three techniques "
    "(batch 8 per core; the 2-core value read off the plot)"
)
CORES = {
    1: PaperValue(14.5),
    2: PaperValue(22.0, approximate=True),
    4: PaperValue(23.7),
    8: PaperValue(27.7),
}

BANDWIDTH_SOURCE = (
    f"{PAPER}, evaluation: DRAM bandwidth per core of the 1-core server NPU, all three techniques"
)
BANDWIDTH = {150.0: PaperValue(14.5), 75.0: PaperValue(19.3), 37.5: PaperValue(22.7)}
"""GB/s per core -> reduction."""

BATCH_SOURCE = f"{PAPER}, evaluation: batch of the 1-core server NPU, all three techniques"
BATCH = {8: PaperValue(14.5), 16: PaperValue(14.7), 32: PaperValue(14.0)}

ALGORITHM1_SOURCE = (
    f"{PAPER}, Algorithm 1 against choosing the best of the three orders per layer by "
    "simulation (interleaving and rearrangement, no partitioning)"
)
ALGORITHM1 = {
    "edge": _exact(23.8, 25.1),  # Algorithm 1, per-layer oracle
    "server": _exact(10.9, 12.4),
}

LAYERS_SOURCE = (
    f"{PAPER}, §6.2: per layer, DRAM traffic against execution time after the three "
    "techniques, normalised to the baseline"
)
LAYERS = {
    "memory-bound": "time follows the traffic cut (GEMM and deep conv layers: traffic .61 -> "
    "time .67, for example)",
    "compute-bound": "traffic .45-.70, time .64-1.0 (shallow conv layers)",
}
"""What the paper says of each kind of layer (ranges, not one value)."""

DY_SHARE_SOURCE = (
    f"{PAPER}, motivation: dY's share of the backward pass's DRAM traffic, measured on an "
    "A100 (not on the simulated NPUs)"
)
DY_SHARE = {"bytes": PaperValue(39.0), "reads": PaperValue(51.4)}
"""Percent of the backward pass's reads and writes, and of its reads alone."""

DY_ORACLE_SOURCE = (
    f"{PAPER}, motivation: an oracle that reads dY only once, against the baseline, on each "
    "simulated NPU"
)
DY_ORACLE_SPEEDUP = {"edge": 1.70, "server": 1.43}
"""Speedup (baseline time / oracle time) per NPU."""
