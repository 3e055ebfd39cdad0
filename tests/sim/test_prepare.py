"""The static analysis of a stream (``igoc.sim.prepare``) against the instructions' definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import tiny_target

from igoc.isa import im2col
from igoc.isa.instructions import ConvGeometry, DType, Gather, Halt, Scatter
from igoc.isa.program import Program, layout_tensors
from igoc.sim.prepare import prepare


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
