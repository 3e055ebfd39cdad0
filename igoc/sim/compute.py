"""Matmul cycles on the PE array: SCALE-Sim v3's analytic model.

SCALE-Sim v3 (the ``scalesim`` 3.0.0 package; ``scalesim/compute/systolic_compute_os.py``
and ``systolic_compute_ws.py``) computes the
cycles of ``C[m x n] = A[m x k] · B[k x n]`` on an ``R x C`` array as a sequence of
folds, each running to completion (a partial fold costs a full one):

* output stationary: each fold holds an ``R x C`` block of C; operands stream for
  ``k`` cycles and fill/drain the array: ``ceil(m/R) · ceil(n/C) · (k + R + C - 2)``;
* weight stationary: each fold holds an ``R x C`` block of B (k rows on R, n columns
  on C), loads it in ``R`` cycles, streams the ``m`` rows of A and drains:
  ``ceil(k/R) · ceil(n/C) · (m + 2R + C - 2)``.

SCALE-Sim prints one cycle less than these counts: its report gives the index of
the last cycle, counted from 0.
"""

from __future__ import annotations

import numpy as np

DATAFLOW_FORMULAS = {
    "os": "ceil(m/R) * ceil(n/C) * (k + R + C - 2)",
    "ws": "ceil(k/R) * ceil(n/C) * (m + 2R + C - 2)",
}


def matmul_cycles(m, k, n, rows: int, cols: int, dataflow: str):
    """Cycles of an ``m x k · k x n`` matmul on a ``rows x cols`` array (scalars or arrays)."""
    m, k, n = (np.asarray(v, dtype=np.int64) for v in (m, k, n))
    if dataflow == "os":
        cycles = -(-m // rows) * -(-n // cols) * (k + rows + cols - 2)
    elif dataflow == "ws":
        cycles = -(-k // rows) * -(-n // cols) * (m + 2 * rows + cols - 2)
    else:
        raise ValueError(f"unknown dataflow '{dataflow}'")
    return cycles if cycles.ndim else int(cycles)
