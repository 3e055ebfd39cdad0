"""How long a matmul instruction keeps a core's PE array busy, under either array timing.

This is the one definition of a matmul's cycles: the simulator times every
matmul with it, and the cost model estimates schedules with it, so the two
never disagree about the array. The target's ``array_timing`` chooses between
two models of ``C[m x n] = A[m x k] · B[k x n]`` on an ``R x C`` array, which
splits the work into *folds* (one ``R x C`` block of C for output stationary,
one of B for weight stationary).

``"scalesim"``: SCALE-Sim v3 (the ``scalesim`` 3.0.0 package;
``scalesim/compute/systolic_compute_os.py`` and ``systolic_compute_ws.py``),
in which each fold runs to completion before the next starts (a partial fold
costs a full one):

* output stationary (``os``): each fold holds an ``R x C`` block of C; operands
  stream for ``k`` cycles and fill/drain the array:
  ``ceil(m/R) · ceil(n/C) · (k + R + C - 2)``;
* weight stationary (``ws``): each fold holds an ``R x C`` block of B (k rows on R,
  n columns on C), loads it in ``R`` cycles, streams the ``m`` rows of A and drains:
  ``ceil(k/R) · ceil(n/C) · (m + 2R + C - 2)``.

SCALE-Sim prints one cycle less than these counts: its report gives the index of
the last cycle, counted from 0.

``"pipelined"``: the folds of one matmul instruction run back to back, and the
skew (fill) and the drain are paid once per instruction, not once per fold. A
systolic array with double-buffered operand registers does this: a PE moves to
its next fold's operands as soon as it has done its last MAC of the current one.
It is how mNPUsim (the simulator of the IGO paper's group, built on SCALE-Sim;
``software_layer/software_eff_conv.cpp`` and ``npu_accelerator.cpp``,
``calcCycle``) times an output-stationary tile. With ``R_used`` and ``C_used``
the rows and columns of the array that the *last* fold uses (``R_used = a -
(ceil(a/R) - 1) · R`` for the dimension ``a`` mapped on the rows, likewise on
the columns):

* output stationary: PE ``(r, c)`` starts ``r + c`` cycles late (the skew) and
  then does ``k`` MACs per fold for all ``ceil(m/R) · ceil(n/C)`` folds without a
  pause; the last MAC is that of the last fold's last used PE, and the results
  leave the array in ``max(R, C)`` cycles:
  ``ceil(m/R) · ceil(n/C) · k + (R_used - 1) + (C_used - 1) + max(R, C)``,
  ``R_used`` over m and ``C_used`` over n. A ``1024 x 511 x 1024`` matmul on
  ``128 x 128`` takes ``8 · 8 · 511 + 127 + 127 + 128 = 33,086`` cycles (SCALE-Sim:
  ``64 · 765 = 48,960``), as mNPUsim counts it.
* weight stationary (derived the same way; mNPUsim has no weight-stationary
  counterpart): the first fold's weights are shifted in in ``R`` cycles; then
  each of the ``ceil(k/R) · ceil(n/C)`` folds streams the ``m`` rows of A, one
  per cycle, back to back, while the next fold's weights are loaded into the
  PEs' second weight register; A's rows enter skewed across the last fold's
  used rows, partial sums leave skewed across its used columns, and the last
  results drain in ``max(R, C)``:
  ``R + ceil(k/R) · ceil(n/C) · m + (R_used - 1) + (C_used - 1) + max(R, C)``,
  ``R_used`` over k and ``C_used`` over n. Assumption: a fold's weight load (``R``
  cycles) hides behind the previous fold's stream, which holds only when
  ``m >= R``; for ``m < R`` the formula is optimistic (the array would wait
  ``R - m`` cycles per fold).

A one-fold matmul takes ``max(R, C)`` cycles more under ``pipelined`` than under
``scalesim`` (the drain, which SCALE-Sim v3's compute count leaves out); from a
two folds on, ``pipelined`` is never slower (for OS: on arrays of at least 2 x 2),
since SCALE-Sim pays ``R + C - 2`` (OS) or ``2R + C - 2`` (WS) on every fold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from igoc.target import Target

DATAFLOW_FORMULAS = {
    ("scalesim", "os"): "ceil(m/R) * ceil(n/C) * (k + R + C - 2)",
    ("scalesim", "ws"): "ceil(k/R) * ceil(n/C) * (m + 2R + C - 2)",
    ("pipelined", "os"): (
        "ceil(m/R) * ceil(n/C) * k + (R_used - 1) + (C_used - 1) + max(R, C), "
        "R_used = m - (ceil(m/R) - 1) * R, C_used = n - (ceil(n/C) - 1) * C"
    ),
    ("pipelined", "ws"): (
        "R + ceil(k/R) * ceil(n/C) * m + (R_used - 1) + (C_used - 1) + max(R, C), "
        "R_used = k - (ceil(k/R) - 1) * R, C_used = n - (ceil(n/C) - 1) * C"
    ),
}
"""The cycles of a matmul under each ``(array_timing, dataflow)``, as text (for reports and
documentation)."""

Count = TypeVar("Count")  # an int, or a numpy array of int64 (one count per matmul)


def matmul_cycles(m: Count, k: Count, n: Count, target: Target) -> Count:
    """Cycles of ``C[m x n] = A[m x k] · B[k x n]`` on one core's array of ``target``.

    ``m``, ``k`` and ``n`` are positive integers, or int64 arrays of them (the
    simulator times a whole stream at once); the result has the same form.
    """
    rows, cols = target.array_rows, target.array_cols
    dataflow, timing = target.dataflow, target.array_timing
    if dataflow == "os":
        on_rows, streamed = m, k
    elif dataflow == "ws":
        on_rows, streamed = k, m
    else:
        raise ValueError(f"unknown dataflow '{dataflow}'")
    row_folds = -(-on_rows // rows)  # type: ignore[operator]
    col_folds = -(-n // cols)  # type: ignore[operator]
    if timing == "scalesim":
        per_fold = k + rows + cols - 2 if dataflow == "os" else m + 2 * rows + cols - 2
        return row_folds * col_folds * per_fold  # type: ignore[operator,return-value]
    if timing == "pipelined":
        rows_used = on_rows - (row_folds - 1) * rows  # type: ignore[operator]
        cols_used = n - (col_folds - 1) * cols  # type: ignore[operator]
        load = rows if dataflow == "ws" else 0
        skew = (rows_used - 1) + (cols_used - 1)
        body = row_folds * col_folds * streamed  # type: ignore[operator]
        return load + body + skew + max(rows, cols)  # type: ignore[return-value]
    raise ValueError(f"unknown array timing '{timing}'")
