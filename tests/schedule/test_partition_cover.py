"""Partitions and tile walks cover every output element's reduction exactly once.

For random layers, orders, tilings and partitions (over up to 4 cores), the
matmuls of all cores' steps are replayed symbolically: each adds its reduction
range to the elements of its accumulator tile. Every element of every output
must receive each index of its reduction exactly once.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.isa.instructions import DType
from igoc.schedule.layer import COMPUTATIONS, ROLE_INDICES, matmul_layer
from igoc.schedule.layer_schedule import INTERLEAVED_ORDERS, LayerSchedule, Partition, core_steps
from igoc.schedule.steps import Tiling

NAMES = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}


@settings(max_examples=80)
@given(
    dims=st.tuples(*(st.integers(1, 23) for _ in range(3))),
    tile=st.tuples(*(st.integers(1, 9) for _ in range(3))),
    order=st.sampled_from(INTERLEAVED_ORDERS),
    dim=st.sampled_from([None, "m", "n", "k"]),
    cores=st.integers(1, 4),
    factor=st.integers(1, 3),
)
def test_every_reduction_index_is_added_once(dims, tile, order, dim, cores, factor):
    m, n, k = dims
    layer = matmul_layer("fc", m, k, n, DType.F16, NAMES)
    parts = 1 if dim is None else cores * factor
    tiling = Tiling(*tile)
    schedule = LayerSchedule(("dx", "dw"), order, (tiling, tiling), Partition(dim, parts, cores))
    frame = {"i": m, "j": n, "l": k}
    # counts[role][r, c, idx]: how often reduction index idx was added into element (r, c).
    counts = {}
    for name in ("dx", "dw"):
        comp = COMPUTATIONS[name]
        rows, cols = (frame[i] for i in ROLE_INDICES[comp.acc])
        counts[comp.acc] = np.zeros((rows, cols, frame[comp.reduction]), dtype=np.int64)
    for core in range(cores):
        for step in core_steps([layer], schedule, core):
            for mm in step:
                comp = COMPUTATIONS[mm.computation]
                _, _, r0, c0, rows, cols = mm.acc
                # The reduction range is where operand A's tile lies along the reduction index.
                a_rows_index, _ = ROLE_INDICES[comp.a]
                _, _, a0, a1, a_rows, a_cols = mm.a
                start = a0 if a_rows_index == comp.reduction else a1
                assert mm.k == (a_rows if a_rows_index == comp.reduction else a_cols)
                counts[comp.acc][r0 : r0 + rows, c0 : c0 + cols, start : start + mm.k] += 1
    for role, count in counts.items():
        assert (count == 1).all(), (role, int(count.min()), int(count.max()))
