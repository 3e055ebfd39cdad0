"""DRAM footprints of DMAs: the overlap test that orders a core's loads and stores of one tensor."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.sim.footprints import footprints_overlap

SHAPE = (2, 3, 4, 5)  # 120 elements


def block_cells(b):
    _, off, stride, rows, cols = b
    return {off + r * stride + c for r in range(rows) for c in range(cols)}


def box_cells(b):
    _, n0, n1, c0, c1, h0, h1, w0, w1 = b
    return {
        ((n * 3 + c) * 4 + h) * 5 + w
        for n in range(n0, n1)
        for c in range(c0, c1)
        for h in range(h0, h1)
        for w in range(w0, w1)
    }


blocks = st.builds(
    lambda off, stride, rows, cols: ("block", off, stride, rows, cols),
    st.integers(0, 40),
    st.integers(0, 12),
    st.integers(1, 6),
    st.integers(1, 8),
)


@st.composite
def boxes(draw):
    spans = []
    for size in SHAPE:
        a = draw(st.integers(0, size - 1))
        spans += [a, draw(st.integers(a + 1, size))]
    return ("box", *spans)


@settings(max_examples=400)
@given(blocks, blocks)
def test_blocks_are_exact(a, b):
    assert footprints_overlap(a, b, SHAPE) == bool(block_cells(a) & block_cells(b))


@settings(max_examples=200)
@given(boxes(), boxes())
def test_boxes_are_exact(a, b):
    assert footprints_overlap(a, b, SHAPE) == bool(box_cells(a) & box_cells(b))


@settings(max_examples=300)
@given(blocks, boxes())
def test_block_against_box_never_misses_an_overlap(a, b):
    if block_cells(a) & box_cells(b):
        assert footprints_overlap(a, b, SHAPE)
        assert footprints_overlap(b, a, SHAPE)
