"""How long a matmul instruction keeps a core's PE array busy: SCALE-Sim v3's analytic model.

This is the one definition of a matmul's cycles: the simulator times every
matmul with it, and the cost model estimates schedules with it, so the two
never disagree about the array.

SCALE-Sim v3 (the ``scalesim`` 3.0.0 package; ``scalesim/compute/systolic_compute_os.py``
and ``systolic_compute_ws.py``) computes the cycles of ``C[m x n] = A[m x k] · B[k x n]``
on an ``R x C`` array as a sequence of folds, each running to completion (a partial
fold costs a full one):

* output stationary (``os``): each fold holds an ``R x C`` block of C; operands
  stream for ``k`` cycles and fill/drain the array:
  ``ceil(m/R) · ceil(n/C) · (k + R + C - 2)``;
* weight stationary (``ws``): each fold holds an ``R x C`` block of B (k rows on R,
  n columns on C), loads it in ``R`` cycles, streams the ``m`` rows of A and drains:
  ``ceil(k/R) · ceil(n/C) · (m + 2R + C - 2)``.

SCALE-Sim prints one cycle less than these counts: its report gives the index of
the last cycle, counted from 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from igoc.target import Target

DATAFLOW_FORMULAS = {
    "os": "ceil(m/R) * ceil(n/C) * (k + R + C - 2)",
    "ws": "ceil(k/R) * ceil(n/C) * (m + 2R + C - 2)",
}
"""The cycles of each dataflow, as text (for reports and documentation)."""

Count = TypeVar("Count")  # an int, or a numpy array of int64 (one count per matmul)


def matmul_cycles(m: Count, k: Count, n: Count, target: Target) -> Count:
    """Cycles of ``C[m x n] = A[m x k] · B[k x n]`` on one core's array of ``target``.

    ``m``, ``k`` and ``n`` are positive integers, or int64 arrays of them (the
    simulator times a whole stream at once); the result has the same form.
    """
    rows, cols = target.array_rows, target.array_cols
    if target.dataflow == "os":
        return -(-m // rows) * -(-n // cols) * (k + rows + cols - 2)  # type: ignore[operator]
    if target.dataflow == "ws":
        return -(-k // rows) * -(-n // cols) * (m + 2 * rows + cols - 2)  # type: ignore[operator]
    raise ValueError(f"unknown dataflow '{target.dataflow}'")
