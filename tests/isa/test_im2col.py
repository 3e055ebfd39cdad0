"""The im2col view: distinct-element counts and bounding boxes against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.isa import im2col
from igoc.isa.instructions import ConvGeometry


@st.composite
def conv_tiles(draw, kernel=3, dilation=2, pad=2, size=7, batch=2, channels=3, stride=3):
    """A tile of the im2col matrix of a conv drawn within these bounds."""
    kh, kw = draw(st.integers(1, kernel)), draw(st.integers(1, kernel))
    dh, dw = draw(st.integers(1, dilation)), draw(st.integers(1, dilation))
    ph, pw = draw(st.integers(0, pad)), draw(st.integers(0, pad))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), size))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), size))
    n, c = draw(st.integers(1, batch)), draw(st.integers(1, channels))
    sh, sw = draw(st.integers(1, stride)), draw(st.integers(1, stride))
    g = ConvGeometry(n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw)
    m0 = draw(st.integers(0, g.rows - 1))
    k0 = draw(st.integers(0, g.cols - 1))
    return g, m0, draw(st.integers(1, g.rows - m0)), k0, draw(st.integers(1, g.cols - k0))


def tiles():
    """Tiles of small convs: kernels up to 3x3, dilations up to 2, pads up to 2."""
    return conv_tiles()


def brute_force(g, m0, rows, k0, cols):
    """Element by element, straight from the ConvGeometry docstring."""
    seen = set()
    for m in range(m0, m0 + rows):
        n, rem = divmod(m, g.out_height * g.out_width)
        oh, ow = divmod(rem, g.out_width)
        for k in range(k0, k0 + cols):
            c, rem = divmod(k, g.kernel_h * g.kernel_w)
            r, s = divmod(rem, g.kernel_w)
            h = oh * g.stride_h - g.pad_h + r * g.dilation_h
            w = ow * g.stride_w - g.pad_w + s * g.dilation_w
            if 0 <= h < g.height and 0 <= w < g.width:
                seen.add((n, c, h, w))
    return seen


@settings(max_examples=200)
@given(tiles())
def test_distinct_elements_and_box_match_brute_force(tile):
    g, m0, rows, k0, cols = tile
    seen = brute_force(*tile)
    assert im2col.distinct_elements(g, m0, rows, k0, cols) == len(seen)
    n0, n1, c0, c1, h0, h1, w0, w1 = im2col.bounding_box(g, m0, rows, k0, cols)
    for n, c, h, w in seen:
        assert n0 <= n < n1 and c0 <= c < c1 and h0 <= h < h1 and w0 <= w < w1
    idx, valid = im2col.tile_indices(g, m0, rows, k0, cols)
    flat = {((n * g.channels + c) * g.height + h) * g.width + w for n, c, h, w in seen}
    assert set(idx[valid].tolist()) == flat


def test_one_by_one_view_is_the_channels_matrix():
    """A 1x1 view of (N, C, H, W) is the (N*H*W) x C matrix: row (n, h, w), column c."""
    g = ConvGeometry(2, 3, 4, 5)
    x = np.arange(2 * 3 * 4 * 5)
    idx, valid = im2col.tile_indices(g, 0, g.rows, 0, g.cols)
    assert valid.all()
    expected = x.reshape(2, 3, 4, 5).transpose(0, 2, 3, 1).reshape(-1, 3)
    np.testing.assert_array_equal(x[idx], expected)
    assert im2col.distinct_elements(g, 0, g.rows, 0, g.cols) == x.size


def test_a_strided_3x3_reads_each_element_once_per_instruction():
    """3x3 kernel, stride 1, pad 1 on 6x6: the whole im2col matrix holds 9*36 - padding
    entries, but reads only the 36 distinct elements of each channel."""
    g = ConvGeometry(1, 2, 6, 6, 3, 3, 1, 1, 1, 1)
    assert im2col.distinct_elements(g, 0, g.rows, 0, g.cols) == 2 * 36
    # one output row (6 positions) and one channel's 9 taps: rows h 0..1, all 6 columns
    assert im2col.distinct_elements(g, 0, 6, 0, 9) == 2 * 6


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, (1 << 12) - 1), st.integers(0, (1 << 12) - 1)),
        min_size=0,
        max_size=9,
    )
)
def test_union_of_products_counts_the_cells(products):
    """Against the cells of an explicit 12 x 12 grid."""
    grid = np.zeros((12, 12), bool)
    for rows, cols in products:
        r = np.array([rows >> h & 1 for h in range(12)], bool)
        c = np.array([cols >> w & 1 for w in range(12)], bool)
        grid |= np.outer(r, c)
    rows = [r for r, _ in products]
    cols = [c for _, c in products]
    assert im2col.union_of_products(rows, cols) == int(grid.sum())


@settings(max_examples=200)
@given(tiles(), st.integers(0, 3), st.integers(0, 3))
def test_tile_count_does_not_change_by_whole_images_or_channels(tile, images, channels):
    """What the simulator relies on to count each tile once: moved by whole images or whole
    channels (in a larger batch and channel count), a tile touches as many elements."""
    g, m0, rows, k0, cols = tile
    big = ConvGeometry(
        g.batch + images,
        g.channels + channels,
        g.height,
        g.width,
        g.kernel_h,
        g.kernel_w,
        g.stride_h,
        g.stride_w,
        g.pad_h,
        g.pad_w,
        g.dilation_h,
        g.dilation_w,
    )
    moved_m = m0 + images * g.out_height * g.out_width
    moved_k = k0 + channels * g.kernel_h * g.kernel_w
    assert im2col.distinct_elements(big, moved_m, rows, moved_k, cols) == len(brute_force(*tile))
    if g.pad_h == 0 and g.pad_w == 0 and im2col.is_injective(g):
        assert rows * cols == len(brute_force(*tile))


def wide_tiles():
    """Tiles of convs with kernels up to 5x5, strides and dilations up to 3, pads up to 3."""
    return conv_tiles(kernel=5, dilation=3, pad=3, size=14, batch=3)


def nchw(g: ConvGeometry) -> tuple[int, int, int, int]:
    return (g.batch, g.channels, g.height, g.width)


@settings(max_examples=300, deadline=None)
@given(st.one_of(tiles(), wide_tiles()), st.booleans())
def test_gathered_tile_is_the_indexed_one(tile, transposed):
    """``gather_tile`` copies each in-bounds entry once, the element ``tile_indices`` names,
    and leaves the padding entries alone, into a tile laid out either way round."""
    g, m0, rows, k0, cols = tile
    idx, valid = im2col.tile_indices(g, m0, rows, k0, cols)
    x = np.arange(1, 1 + int(np.prod(nchw(g))), dtype=np.int64).reshape(nchw(g))
    memory = np.full((cols, rows) if transposed else (rows, cols), -1, np.int64)
    out = memory.T if transposed else memory
    im2col.gather_tile(g, m0, rows, k0, cols, x, out)
    np.testing.assert_array_equal(out, np.where(valid, x.reshape(-1)[idx], -1))
    copies = np.zeros_like(memory)
    view = copies.T if transposed else copies
    for part in im2col.tile_parts(g, m0, rows, k0, cols):
        im2col.tile_box(part, view)[...] += 1
    np.testing.assert_array_equal(view, valid.astype(np.int64))  # each entry in one part
    mask = np.zeros(nchw(g), bool)
    mask.reshape(-1)[idx[valid]] = True
    assert im2col.reads_only_set(g, m0, rows, k0, cols, mask)
    if valid.any():
        mask.reshape(-1)[idx[valid][-1]] = False
        assert not im2col.reads_only_set(g, m0, rows, k0, cols, mask)


BIG_AND_SMALL = [1e30, -1e30, 1.0, 3.0, 0.5]  # sums of three of them depend on the order
SPECIALS = [0.0, -0.0, 1.0, -1.0, 1e-30, 3e38, -3e38, float("inf"), float("-inf"), float("nan")]


@settings(max_examples=300, deadline=None)
@given(st.one_of(tiles(), wide_tiles()), st.booleans(), st.data())
def test_col2im_sums_are_bincounts_bit_for_bit(tile, transposed, data):
    """The elements a scatter reaches and their float64 sums, against ``np.unique`` and
    ``np.bincount`` over the in-bounds entries in the tile's row-major order: the same
    bits, with values of very different sizes (the order of the additions shows), signed
    zeros, infinities and NaN."""
    g, m0, rows, k0, cols = tile
    count = rows * cols
    values = np.array(
        data.draw(
            st.lists(
                st.one_of(
                    st.sampled_from(BIG_AND_SMALL), st.sampled_from(SPECIALS), st.floats(width=32)
                ),
                min_size=count,
                max_size=count,
            )
        ),
        np.float32,
    ).reshape(rows, cols)
    tile_values = np.ascontiguousarray(values.T).T if transposed else values
    idx, valid = im2col.tile_indices(g, m0, rows, k0, cols)
    with np.errstate(invalid="ignore", over="ignore"):
        found = im2col.col2im_sums(g, m0, rows, k0, cols, tile_values)
    if not valid.any():
        assert found is None
        return
    box, sums, touched = found
    positions, inverse = np.unique(idx[valid], return_inverse=True)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.bincount(inverse, weights=values[valid], minlength=len(positions))
    local = np.nonzero(touched)
    flat = np.ravel_multi_index(
        tuple(axis + part.start for axis, part in zip(local, box, strict=True)), nchw(g)
    )
    np.testing.assert_array_equal(flat, positions)
    assert sums.dtype == np.float64
    got = sums[touched]
    # NaNs where bincount has them; when two NaNs meet (inf + -inf is x86's negative
    # default NaN, a drawn one may be positive), which one an add returns depends on the
    # order of its operands, which neither numpy's loops nor C compilers keep.
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    assert got[~nan].tobytes() == want[~nan].tobytes()
