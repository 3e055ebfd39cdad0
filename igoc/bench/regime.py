"""The two regimes igoc-bench measures in: the paper's footing and igoc's own, stronger one.

A *regime* is the footing of a comparison: the reference pipeline every ratio
is against and the pipelines of the paper's steps measured against it. The
targets are the same presets in both (the paper's Table 3, with the modelling
choices their keys give); what differs is the schedule of the baseline and of
IGO's steps:

- ``strong`` (the default): ``baseline`` is the strongest conventional
  schedule igoc can make: searched tile sizes and loop orders, and the SPM
  planned by Belady's rule across the whole training step, so a dY tile stays
  in SPM from dX to dW without any fusion.
- ``paper``: ``baseline-paper`` is the paper's baseline as described: the
  analytic tile sizes of its reference [43] with a tile's operands in half the
  SPM (double buffering), and reuse only of what that half-SPM window still
  holds; IGO's steps are the ``-paper`` pipelines on the same tiler and SPM
  discipline.

Besides the pipelines of ``igoc.pipeline``, igoc-bench knows the pipelines of
:data:`BENCH_PIPELINES`, which the paper's figures need and the compiler has no
name for: the *order oracle* (every order of each layer simulated, the batch
split kept), the comparison the paper makes for its Algorithm 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Regime:
    """A footing of comparison: the reference pipeline and the pipelines of IGO's steps."""

    name: str
    reference: str  # every ratio is against it; it always runs
    steps: tuple[str, str, str]  # + interleaving, + rearrangement, + partitioning (cumulative)
    alg1: str  # the order by the paper's Algorithm 1, the batch split
    oracle: str  # every order simulated per layer, the batch split
    summary: str  # one line for the tables' header

    @property
    def pipelines(self) -> tuple[str, ...]:
        """The pipelines of a run in this regime: the reference, then the three steps."""
        return (self.reference, *self.steps)

    @property
    def igo(self) -> str:
        """The pipeline with all three techniques."""
        return self.steps[-1]


REGIMES = {
    "strong": Regime(
        "strong",
        "baseline",
        ("igo-interleave", "igo-rearrange", "igo"),
        "igo-alg1",
        "igo-oracle-order",
        "searched tiles and loop orders, the SPM planned by Belady's rule over the whole step",
    ),
    "paper": Regime(
        "paper",
        "baseline-paper",
        ("igo-interleave-paper", "igo-rearrange-paper", "igo-paper"),
        "igo-alg1-paper",
        "igo-oracle-order-paper",
        "the paper's baseline: analytic tile sizes in half the SPM, reuse only within that "
        "half-SPM window",
    ),
}
"""Every regime, by name."""

DEFAULT_REGIME = "strong"

_ORDER_ORACLE = (
    "conv-to-gemm,fuse-gradients,tile,select-order{policy=paper-oracle},partition{policy=m},"
    "lower-to-npu"
)
"""Each layer's order chosen by simulating the paper's three (only-interleaving, dX-major,
dW-major), each with its best tiles; the batch (M) split, as in ``igo-alg1``: the paper's
"choosing the best of the three per layer by simulation", which Algorithm 1 is measured
against. (``igo-exhaustive`` is igoc's wider search: every order, ``sequential`` too.)"""

BENCH_PIPELINES_DOC = {
    "igo-oracle-order": "the paper's three orders of each layer simulated, the fastest kept; "
    "the batch split",
    "igo-oracle-order-paper": "igo-oracle-order on the paper's footing",
}
"""igoc-bench's own pipelines and what they are."""


def bench_pipelines() -> dict[str, str]:
    """igoc-bench's own pipelines (name -> pass-pipeline spec), beside ``igoc.pipeline``'s."""
    from igoc.pipeline import paper_footing

    return {
        "igo-oracle-order": _ORDER_ORACLE,
        "igo-oracle-order-paper": paper_footing(_ORDER_ORACLE),
    }
