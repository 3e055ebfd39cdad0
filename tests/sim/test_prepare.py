"""The static analysis of a stream (``igoc.sim.prepare``) against the instructions' definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import tiny_target
from test_sim_properties import random_programs

from igoc.isa import im2col
from igoc.isa.instructions import ConvGeometry, DType, Gather, Halt, Load, Matmul, Scatter, Store
from igoc.isa.program import Program, layout_tensors, stream_records
from igoc.sim.columns import Columns
from igoc.sim.prepare import _first_and_inverse, distinct, prepare


@st.composite
def gather_programs(draw):
    """Gathers and scatters on a few convs of one tensor shape, at random tiles."""
    n, c, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3)), 6, 7
    convs = [
        ConvGeometry(n, c, h, w),  # no padding, one element per entry
        ConvGeometry(n, c, h, w, 3, 3, 1, 1, 1, 1),
        ConvGeometry(n, c, h, w, 3, 2, 2, 1, 0, 1, 1, 2),
        ConvGeometry(n, c, h, w, 2, 2, 2, 2),  # no padding, windows apart
    ]
    tensors = layout_tensors([("x", "input", DType.F16, (n, c, h, w))])
    stream = []
    for _ in range(draw(st.integers(1, 20))):
        i = draw(st.integers(0, len(convs) - 1))
        g = convs[i]
        m0 = draw(st.integers(0, g.rows - 1))
        k0 = draw(st.integers(0, g.cols - 1))
        rows = draw(st.integers(1, min(g.rows - m0, 12)))
        cols = draw(st.integers(1, min(g.cols - k0, 12)))
        kind = draw(st.sampled_from([Gather, Scatter]))
        stream.append(kind(0, i, m0, k0, rows, cols, 0, DType.F16))
    return Program(tiny_target(), tensors, convs, [stream + [Halt()]])


@settings(max_examples=100)
@given(gather_programs())
def test_im2col_bytes_are_each_tiles_distinct_elements(program):
    """Tiles are counted once per distinct tile (moved to the first image and channel): the
    bytes are those of counting each instruction's tile on its own."""
    (code,) = prepare(program)
    for i, inst in enumerate(program.streams[0][:-1]):
        g = program.convs[inst.conv]
        count = im2col.distinct_elements(g, inst.m_start, inst.rows, inst.k_start, inst.cols)
        if isinstance(inst, Gather):
            expected = (2 * count, 0)
        else:  # an accumulating scatter reads what it adds into
            expected = (2 * count if inst.accumulate else 0, 2 * count)
        assert (code.read_bytes[i], code.write_bytes[i]) == expected


@settings(max_examples=200)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=60))
def test_distinct_values_are_numpys_unique(values):
    array = np.array(values, np.int64)
    got = distinct(array)
    assert got.dtype == array.dtype
    np.testing.assert_array_equal(got, np.unique(array))


@settings(max_examples=200)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 2**40), min_size=n, max_size=n), min_size=1, max_size=5
        )
    ),
    st.booleans(),
)
def test_rows_are_told_apart_as_numpy_does(columns, crowded):
    """One key per row when the columns' ranges multiply below 2^62, rows compared otherwise."""
    arrays = tuple(np.array(c, np.int64) % (3 if crowded else 2**40) for c in columns)
    first, inverse = _first_and_inverse(arrays)
    rows = np.stack(arrays, 1)
    _, want_first, want_inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(rows[first][inverse], rows)  # each row's distinct row
    assert sorted(first.tolist()) == sorted(want_first.tolist())  # first occurrences
    assert len(set(inverse.tolist())) == len(want_first)


@settings(max_examples=150)
@given(random_programs())
def test_columns_are_each_instructions_fields_and_spm_ranges(program):
    """The SPM operand ranges, worked out on the matmuls and DMAs alone, against each
    instruction's own fields."""
    for stream in program.streams:
        records = stream_records(stream)
        c = Columns(records)
        for name in records.dtype.names:
            assert getattr(c, name).tolist() == [min(x, 2**62) for x in records[name].tolist()]
        for i, inst in enumerate(stream):
            want = [(0, 0.0)] * 3
            if isinstance(inst, Matmul):
                size, acc = inst.in_dtype.nbytes, inst.c_dtype.nbytes
                want = [
                    (inst.a_addr, float(inst.a_addr + inst.m * inst.k * size)),
                    (inst.b_addr, float(inst.b_addr + inst.k * inst.n * size)),
                    (inst.c_addr, float(inst.c_addr + inst.m * inst.n * acc)),
                ]
            elif isinstance(inst, Load | Store | Gather | Scatter):
                size = 0 if getattr(inst, "zero", False) else inst.rows * inst.cols
                want[0] = (inst.spm_addr, float(inst.spm_addr + size * inst.spm_dtype.nbytes))
            got = [(c.start1[i], c.end1[i]), (c.start2[i], c.end2[i]), (c.start3[i], c.end3[i])]
            assert got == want
