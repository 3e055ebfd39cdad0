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
github casys-kaist/mNPUsim at b0f3c14, ``software_layer/software_eff_conv.cpp``
lines 25 and 155-171, ``npu_accelerator.cpp`` lines 57-67, ``calcCycle``) times an
output-stationary tile. With ``R_used`` and ``C_used`` the rows and columns of the
array that the *last* fold uses (``R_used = a - (ceil(a/R) - 1) · R`` for the
dimension ``a`` mapped on the rows, likewise on the columns), and ``F`` the folds:

* output stationary: PE ``(r, c)`` starts ``r + c`` cycles late (the skew) and
  then does ``k`` MACs per fold for each fold that uses it, the folds one after
  another with the columns' inner (as mNPUsim's loop runs them), without a pause;
  the array is done when its last PE is, and the results leave it in ``max(R, C)``
  cycles. Most often the last fold's last used PE ends last:
  ``F · k + (R_used - 1) + (C_used - 1) + max(R, C)``, ``R_used`` over m and
  ``C_used`` over n. A ``1024 x 511 x 1024`` matmul on ``128 x 128`` takes
  ``8 · 8 · 511 + 127 + 127 + 128 = 33,086`` cycles (SCALE-Sim: ``64 · 765 =
  48,960``), as mNPUsim counts it. When ``k`` is short beside the rows or columns
  the last fold leaves idle, a PE those rows or columns hold ends later, in its own
  last fold (:func:`last_mac` has the four cases): a ``129 x 64 x 128`` matmul on
  ``128 x 128`` takes ``127 + 127 + 64 + 128 = 446`` cycles (PE (127, 127), whose
  last fold is the first), not ``2 · 64 + 0 + 127 + 128 = 383``; mNPUsim's loop
  gives the same.
* weight stationary (igoc's own, derived the same way; mNPUsim at the commit above
  times weight-stationary GEMMs by another path, not modelled here): the first
  fold's weights are shifted in in ``R`` cycles; then each of the
  ``ceil(k/R) · ceil(n/C)`` folds streams the ``m`` rows of A, one per cycle,
  back to back, while the next fold's weights are loaded into the PEs' second
  weight register; PE ``(r, c)`` starts ``r + c`` cycles late, and the last results
  drain in ``max(R, C)``: ``R`` plus the output-stationary count with ``k`` on the
  rows and ``m`` streamed, most often
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
        "R_used = m - (ceil(m/R) - 1) * R, C_used = n - (ceil(n/C) - 1) * C "
        "(or later, when k is short beside the rows or columns the last fold leaves idle)"
    ),
    ("pipelined", "ws"): (
        "R + ceil(k/R) * ceil(n/C) * m + (R_used - 1) + (C_used - 1) + max(R, C), "
        "R_used = k - (ceil(k/R) - 1) * R, C_used = n - (ceil(n/C) - 1) * C "
        "(or later, when m is short beside the rows or columns the last fold leaves idle)"
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
        load = rows if dataflow == "ws" else 0
        last = last_mac(row_folds, col_folds, on_rows, n, streamed, rows, cols)
        return load + last + max(rows, cols)  # type: ignore[return-value]
    raise ValueError(f"unknown array timing '{timing}'")


def last_mac(
    row_folds: Count,
    col_folds: Count,
    on_rows: Count,
    on_cols: Count,
    streamed: Count,
    rows: int,
    cols: int,
) -> Count:
    """When the array's last MAC ends, folds back to back (``pipelined``; the module doc).

    PE ``(r, c)`` starts ``r + c`` cycles late and ends ``streamed`` cycles after its last
    fold began; the folds run the columns' inner, so the PEs fall in four groups by whether
    the last row fold and the last column fold use them, each with a last fold of its own:

    * used by both: the last fold, ``F``;
    * used by the last row fold only (columns ``>= C_used``): the last column fold leaves
      them idle, their last fold is the one before, ``F - 1`` (with two column folds or more);
    * used by the last column fold only (rows ``>= R_used``): their last fold is the last of
      the row fold before, ``(row folds - 1) · column folds`` (with two row folds or more);
    * used by neither: one fold before that (with two of each).

    The latest of the four ends last; the first unless ``streamed`` is short beside the
    array's idle rows or columns in the last fold (a 129 x 64 x 128 matmul on 128 x 128:
    row 127's last fold, the first, ends at 127 + 127 + 64 = 318; the last fold's, row 0's,
    at 0 + 127 + 2 · 64 = 255).
    """
    rows_used = on_rows - (row_folds - 1) * rows  # type: ignore[operator]
    cols_used = on_cols - (col_folds - 1) * cols  # type: ignore[operator]
    folds = row_folds * col_folds  # type: ignore[operator]
    several_rows = row_folds >= 2  # type: ignore[operator]
    several_cols = col_folds >= 2  # type: ignore[operator]
    # Each group's end; a group that has no PE ends at 0 (a bool times a count).
    both = (rows_used - 1) + (cols_used - 1) + folds * streamed
    row_only = several_cols * ((rows_used - 1) + (cols - 1) + (folds - 1) * streamed)
    before = (row_folds - 1) * col_folds  # type: ignore[operator]
    col_only = several_rows * ((rows - 1) + (cols_used - 1) + before * streamed)
    neither = several_rows * several_cols * ((rows - 1) + (cols - 1) + (before - 1) * streamed)
    if isinstance(both, int):
        return max(both, row_only, col_only, neither)  # type: ignore[return-value]
    import numpy as np

    return np.maximum(np.maximum(both, row_only), np.maximum(col_only, neither))
