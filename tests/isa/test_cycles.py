"""Matmul cycles under both array timings: hand-computed cases, and the two timings compared.

The expected values are worked out here from the definitions (``igoc/isa/cycles.py``):
``F`` folds, ``R_used`` / ``C_used`` the rows and columns the last fold uses.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.isa.cycles import DATAFLOW_FORMULAS, matmul_cycles
from igoc.target import load_target


def array(rows: int, cols: int, dataflow: str = "os", timing: str = "pipelined"):
    return dataclasses.replace(
        load_target("server"),
        array_rows=rows,
        array_cols=cols,
        dataflow=dataflow,
        array_timing=timing,
    )


@pytest.mark.parametrize(
    ("m", "k", "n", "rows", "cols", "dataflow", "expected"),
    [
        # mNPUsim's tile: 8 x 8 folds of 511 cycles, all 128 rows and columns used by the
        # last one: 32,704 + 127 + 127 + 128.
        (1024, 511, 1024, 128, 128, "os", 64 * 511 + 127 + 127 + 128),
        # one partial fold: 5 of 8 rows, 3 of 8 columns: 7 + 4 + 2 + 8
        (5, 7, 3, 8, 8, "os", 21),
        # m < R, three column folds (8, 8, 4 columns): 3 * 10 + 2 + 3 + 8
        (3, 10, 20, 8, 8, "os", 43),
        # a 4 x 16 array: 3 row folds (the last 1 row), 2 column folds (the last 1 column),
        # 6 folds of 2 cycles, drain max(4, 16). The last fold's one PE ends at 0 + 0 + 6 * 2;
        # PE (0, 15), idle in every second column fold, ends its fifth fold at 0 + 15 + 5 * 2
        (9, 2, 17, 4, 16, "os", 25 + 16),
        # mNPUsim's loop (software_eff_conv.cpp) on 128 x 128: two row folds, the second
        # using row 0 only; PE (127, 127)'s only fold, the first, ends at 127 + 127 + 64,
        # after the second fold's PEs (0 + 127 + 2 * 64 = 255)
        (129, 64, 128, 128, 128, "os", 318 + 128),
        # the same on the edge array: 44 + 44 + 16 against 0 + 44 + 2 * 16
        (46, 16, 45, 45, 45, "os", 104 + 45),
        # WS: weights load in R = 8, then ceil(12/8) * ceil(9/8) = 4 folds of m = 20 rows;
        # the last fold uses 12 - 8 = 4 rows (of k) and 9 - 8 = 1 column (of n)
        (20, 12, 9, 8, 8, "ws", 8 + 80 + 3 + 0 + 8),
        # WS with m < R: one fold, full array: 8 + 2 + 7 + 7 + 8 (optimistic, as documented)
        (2, 8, 8, 8, 8, "ws", 32),
        # WS on 4 x 16: 3 folds over k (the last 1 row), one over n (all 16 columns)
        (5, 9, 16, 4, 16, "ws", 4 + 15 + 0 + 15 + 16),
        # WS, m short: 2 folds over k (the last 1 of 8 rows), row 7 ends its first fold at
        # 7 + 7 + 3, after the last fold's 0 + 7 + 2 * 3; the load first, the drain last
        (3, 9, 8, 8, 8, "ws", 8 + 17 + 8),
    ],
)
def test_pipelined_cycles_by_hand(m, k, n, rows, cols, dataflow, expected):
    assert matmul_cycles(m, k, n, array(rows, cols, dataflow)) == expected


def mnpusim_loop(on_rows: int, on_cols: int, streamed: int, rows: int, cols: int) -> int:
    """The cycle at which mNPUsim's output-stationary loop ends (``software_eff_conv.cpp``):
    every cycle, each PE ``(r, c)`` is at offset ``cycle - r - c`` of its fold (the first
    one while the offset is negative), moving to the next fold (the columns' inner) every
    ``streamed`` cycles; the loop ends at the first cycle at which no PE is at a fold that
    uses it. Cycle by cycle, PE by PE, as mNPUsim runs it (small arrays only)."""
    col_folds = -(-on_cols // cols)

    def busy(r: int, c: int, cycle: int) -> bool:
        row_fold, col_fold = divmod(max(0, cycle - r - c) // streamed, col_folds)
        return row_fold * rows + r < on_rows and col_fold * cols + c < on_cols

    cycle = 0
    while any(busy(r, c, cycle) for r in range(rows) for c in range(cols)):
        cycle += 1
    return cycle


@settings(max_examples=200)
@given(
    m=st.integers(1, 30),
    k=st.integers(1, 12),
    n=st.integers(1, 30),
    rows=st.integers(1, 7),
    cols=st.integers(1, 7),
    dataflow=st.sampled_from(["os", "ws"]),
)
def test_pipelined_is_mnpusims_loop(m, k, n, rows, cols, dataflow):
    """The closed form against mNPUsim's loop run cycle by cycle, plus the drain (and, for
    weight stationary, derived the same way: k on the rows, m streamed, the first load)."""
    if dataflow == "os":
        expected = mnpusim_loop(m, n, k, rows, cols) + max(rows, cols)
    else:
        expected = rows + mnpusim_loop(k, n, m, rows, cols) + max(rows, cols)
    assert matmul_cycles(m, k, n, array(rows, cols, dataflow)) == expected


def test_the_mnpusim_tile_takes_33086_cycles():
    assert matmul_cycles(1024, 511, 1024, load_target("server")) == 33_086
    # SCALE-Sim fills and drains each of the 64 folds: 64 * (511 + 128 + 128 - 2)
    assert matmul_cycles(1024, 511, 1024, array(128, 128, timing="scalesim")) == 48_960


@pytest.mark.parametrize(
    ("m", "k", "n", "dataflow", "expected"),
    [
        (8, 12, 8, "os", 2 * 2 * (12 + 4 + 4 - 2)),
        (8, 12, 8, "ws", 3 * 2 * (8 + 2 * 4 + 4 - 2)),
        (1, 1, 1, "os", 1 + 4 + 4 - 2),
    ],
)
def test_scalesim_cycles_are_unchanged(m, k, n, dataflow, expected):
    assert matmul_cycles(m, k, n, array(4, 4, dataflow, "scalesim")) == expected


sides = st.integers(1, 300)
dims = st.integers(1, 5000)


@settings(max_examples=300)
@given(m=dims, k=dims, n=dims, rows=sides, cols=sides, dataflow=st.sampled_from(["os", "ws"]))
def test_pipelined_against_scalesim(m, k, n, rows, cols, dataflow):
    """One full fold: the drain, max(R, C), more than SCALE-Sim; two folds or more: never more
    (on arrays of at least 2 x 2), since SCALE-Sim fills and drains every fold."""
    pipelined = matmul_cycles(m, k, n, array(rows, cols, dataflow))
    scalesim = matmul_cycles(m, k, n, array(rows, cols, dataflow, "scalesim"))
    on_rows = m if dataflow == "os" else k
    folds = math.ceil(on_rows / rows) * math.ceil(n / cols)
    if on_rows == rows and n == cols:
        assert pipelined == scalesim + max(rows, cols)
    if folds >= 2 and min(rows, cols) >= 2:
        assert pipelined <= scalesim
    streamed = k if dataflow == "os" else m
    assert pipelined >= folds * streamed  # every fold streams its operands once


@settings(max_examples=50)
@given(
    shapes=st.lists(st.tuples(dims, dims, dims), min_size=1, max_size=20),
    rows=sides,
    cols=sides,
    dataflow=st.sampled_from(["os", "ws"]),
    timing=st.sampled_from(["scalesim", "pipelined"]),
)
def test_arrays_and_integers_agree(shapes, rows, cols, dataflow, timing):
    """The simulator times a stream as int64 arrays, the cost model one matmul at a time."""
    target = array(rows, cols, dataflow, timing)
    m, k, n = (np.array(column, np.int64) for column in zip(*shapes, strict=True))
    assert matmul_cycles(m, k, n, target).tolist() == [
        matmul_cycles(a, b, c, target) for a, b, c in shapes
    ]


def test_every_timing_and_dataflow_has_its_formula_text():
    assert set(DATAFLOW_FORMULAS) == {
        (timing, dataflow) for timing in ("scalesim", "pipelined") for dataflow in ("os", "ws")
    }
