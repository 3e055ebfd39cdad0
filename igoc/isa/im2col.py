"""The im2col view of an NCHW tensor: which elements a gather tile reads, and how many.

A tile of the im2col matrix (rows ``m0..m1``, columns ``k0..k1``, see
``igoc.isa.instructions.ConvGeometry``) reads element ``(n, c, h, w)`` of the tensor
for each row ``m = (n, oh, ow)`` and column ``k = (c, r, s)``. A contiguous run of
rows is, for each image ``n``, a contiguous run of output positions ``(oh, ow)``,
which is at most three rectangles; likewise columns per channel ``c`` and kernel
taps ``(r, s)``. Two rectangles give a product set of rows ``h`` and columns ``w``,
so the distinct elements of a tile are, per (run, run) pair, the union of at most nine
product sets, counted axis by axis on bit sets (:func:`union_of_products`) instead of
element by element; counts are cached. Whether a col2im scatter
adds into some element twice (:func:`is_injective`) or leaves some unwritten
(:func:`covers_input`) is decided here too: the compiler zeroes such outputs first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from igoc.isa.instructions import ConvGeometry

Rect = tuple[int, int, int, int]  # rows a0..a1, columns b0..b1 (half-open)


def run_rects(start: int, end: int, width: int) -> tuple[Rect, ...]:
    """The rectangles of a row-major grid ``width`` wide that cells ``start..end`` cover."""
    a0, b0 = divmod(start, width)
    a1, b1 = divmod(end, width)
    if a0 == a1:
        return ((a0, a0 + 1, b0, b1),) if b1 > b0 else ()
    rects = []
    if b0:
        rects.append((a0, a0 + 1, b0, width))
        a0 += 1
    if a1 > a0:
        rects.append((a0, a1, 0, width))
    if b1:
        rects.append((a1, a1 + 1, 0, b1))
    return tuple(rects)


def runs(start: int, end: int, period: int) -> list[tuple[int, int, int, int]]:
    """Split ``start..end`` by blocks of ``period``: ``(first block, blocks, run start, run end)``.

    Each entry stands for ``blocks`` consecutive blocks from ``first block`` that
    each cover ``run start..run end`` of the block.
    """
    q0, r0 = divmod(start, period)
    q1, r1 = divmod(end, period)
    if q0 == q1:
        return [(q0, 1, r0, r1)] if r1 > r0 else []
    out = [(q0, 1, r0, period)]
    if q1 > q0 + 1:
        out.append((q0 + 1, q1 - q0 - 1, 0, period))
    if r1:
        out.append((q1, 1, 0, r1))
    return out


def _axis_bits(o0: int, o1: int, k0: int, k1: int, stride: int, pad: int, dil: int, size: int):
    """Positions ``o * stride - pad + k * dil`` in ``0..size-1`` (o in o0..o1, k in k0..k1), as
    the bits of an int."""
    count = o1 - o0
    comb = ((1 << stride * count) - 1) // ((1 << stride) - 1)  # bits 0, stride, 2 stride, ...
    bits = 0
    for k in range(k0, k1):
        first = o0 * stride - pad + k * dil
        bits |= comb << first if first >= 0 else comb >> -first
    return bits & ((1 << size) - 1)


@lru_cache(maxsize=65536)
def positions(g: ConvGeometry, m_run: tuple[int, int], k_run: tuple[int, int]) -> int:
    """Distinct in-bounds (h, w) that output positions ``m_run`` and taps ``k_run`` touch."""
    rows, cols = [], []
    for oa0, oa1, ob0, ob1 in run_rects(m_run[0], m_run[1], g.out_width):
        for ka0, ka1, kb0, kb1 in run_rects(k_run[0], k_run[1], g.kernel_w):
            rows.append(_axis_bits(oa0, oa1, ka0, ka1, g.stride_h, g.pad_h, g.dilation_h, g.height))
            cols.append(_axis_bits(ob0, ob1, kb0, kb1, g.stride_w, g.pad_w, g.dilation_w, g.width))
    return union_of_products(rows, cols)


def union_of_products(rows: list[int], cols: list[int]) -> int:
    """Cells of the union of the product sets ``rows[i] x cols[i]`` (sets as bits of ints).

    The rows are split into blocks that lie in the same sets ``rows[i]``; a block's cells
    are its rows times the union of those sets' columns. So the count is worked out along
    each axis, never cell by cell on the ``H x W`` grid.
    """
    blocks: list[tuple[int, int]] = []  # (rows, union of their columns), rows disjoint
    covered = 0
    for r, c in zip(rows, cols, strict=True):
        split = []
        for block_rows, block_cols in blocks:
            inside = block_rows & r
            if inside:
                split.append((inside, block_cols | c))
                outside = block_rows & ~r
                if outside:
                    split.append((outside, block_cols))
            else:
                split.append((block_rows, block_cols))
        fresh = r & ~covered
        if fresh:
            split.append((fresh, c))
            covered |= fresh
        blocks = split
    return sum(b_rows.bit_count() * b_cols.bit_count() for b_rows, b_cols in blocks)


@lru_cache(maxsize=65536)
def distinct_elements(g: ConvGeometry, m0: int, rows: int, k0: int, cols: int) -> int:
    """Distinct in-bounds tensor elements that the im2col tile (m0, k0, rows, cols) reads."""
    ohw = g.out_height * g.out_width
    taps = g.kernel_h * g.kernel_w
    total = 0
    for _, n_count, ms, me in runs(m0, m0 + rows, ohw):
        for _, c_count, ks, ke in runs(k0, k0 + cols, taps):
            total += n_count * c_count * positions(g, (ms, me), (ks, ke))
    return total


def bounding_box(g: ConvGeometry, m0: int, rows: int, k0: int, cols: int) -> tuple[int, ...]:
    """A box ``(n0, n1, c0, c1, h0, h1, w0, w1)`` (half-open) holding every element read.

    Empty (``h0 >= h1`` or ``w0 >= w1``) when the tile reads only padding.
    """
    ohw = g.out_height * g.out_width
    taps = g.kernel_h * g.kernel_w
    m1, k1 = m0 + rows, k0 + cols
    n0, n1 = m0 // ohw, (m1 - 1) // ohw + 1
    c0, c1 = k0 // taps, (k1 - 1) // taps + 1
    o_rects = [r for _, _, s, e in runs(m0, m1, ohw) for r in run_rects(s, e, g.out_width)]
    k_rects = [r for _, _, s, e in runs(k0, k1, taps) for r in run_rects(s, e, g.kernel_w)]
    oh0, oh1 = min(r[0] for r in o_rects), max(r[1] for r in o_rects)
    ow0, ow1 = min(r[2] for r in o_rects), max(r[3] for r in o_rects)
    r0, r1 = min(r[0] for r in k_rects), max(r[1] for r in k_rects)
    s0, s1 = min(r[2] for r in k_rects), max(r[3] for r in k_rects)
    h0 = max(0, oh0 * g.stride_h - g.pad_h + r0 * g.dilation_h)
    h1 = min(g.height, (oh1 - 1) * g.stride_h - g.pad_h + (r1 - 1) * g.dilation_h + 1)
    w0 = max(0, ow0 * g.stride_w - g.pad_w + s0 * g.dilation_w)
    w1 = min(g.width, (ow1 - 1) * g.stride_w - g.pad_w + (s1 - 1) * g.dilation_w + 1)
    return (n0, n1, c0, c1, h0, h1, w0, w1)


def tile_indices(g: ConvGeometry, m0: int, rows: int, k0: int, cols: int):
    """Flat NCHW indices of the tile's elements (rows x cols) and the mask of in-bounds ones."""
    m = np.arange(m0, m0 + rows, dtype=np.int64)
    k = np.arange(k0, k0 + cols, dtype=np.int64)
    ohw = g.out_height * g.out_width
    n, rem = np.divmod(m, ohw)
    oh, ow = np.divmod(rem, g.out_width)
    c, rem = np.divmod(k, g.kernel_h * g.kernel_w)
    r, s = np.divmod(rem, g.kernel_w)
    # h, w and the flat index are each a row part plus a column part
    h_row, h_col = oh * g.stride_h - g.pad_h, r * g.dilation_h
    w_row, w_col = ow * g.stride_w - g.pad_w, s * g.dilation_w
    h = h_row[:, None] + h_col[None, :]
    w = w_row[:, None] + w_col[None, :]
    # one unsigned comparison per axis: a negative position is a huge unsigned one
    valid = (h.view(np.uint64) < g.height) & (w.view(np.uint64) < g.width)
    flat_row = (n * g.channels * g.height + h_row) * g.width + w_row
    flat_col = (c * g.height + h_col) * g.width + w_col
    flat = flat_row[:, None] + flat_col[None, :]
    return np.where(valid, flat, 0), valid


class TilePart(NamedTuple):
    """One kernel tap's share of a block of a tile: a strided box of the tile, a strided box
    of the tensor, the same ``(images, channels, out rows, out cols)`` shape.

    The tile's box is rows ``row + (i * oh_span + a) * ow_span + b`` and columns
    ``col + j * taps_span`` (i, j, a, b over the shape); the tensor's is
    ``X[n + i, c + j, h + a * stride_h, w + b * stride_w]``.
    """

    tap: int  # r * kernel_w + s
    row: int
    oh_span: int
    ow_span: int
    col: int
    taps_span: int
    n: int
    c: int
    h: int
    w: int
    shape: tuple[int, int, int, int]


@lru_cache(maxsize=1 << 12)
def tile_parts(g: ConvGeometry, m0: int, rows: int, k0: int, cols: int) -> tuple[TilePart, ...]:
    """The tile's in-bounds entries as strided boxes, by kernel tap from the last to the first.

    Every in-bounds entry of the tile lies in exactly one part (entries in the padding in
    none), and within one tap no two entries read the same element. An element is read
    by entries of several taps only: in the order of the tile's rows, those come from the
    last tap to the first, which is the order of the parts.
    """
    ohw = g.out_height * g.out_width
    taps = g.kernel_h * g.kernel_w
    row_blocks = []  # (first row, first image, images, oh0, oh1, ow0, ow1)
    i = 0
    for n, images, start, end in runs(m0, m0 + rows, ohw):
        for oh0, oh1, ow0, ow1 in run_rects(start, end, g.out_width):
            row_blocks.append((i, n, images, oh0, oh1, ow0, ow1))
            i += images * (oh1 - oh0) * (ow1 - ow0)
    parts = []
    j = 0
    for c, channels, start, end in runs(k0, k0 + cols, taps):
        for r0, r1, s0, s1 in run_rects(start, end, g.kernel_w):
            span = (r1 - r0) * (s1 - s0)
            for r in range(r0, r1):
                h_oh = _in_bounds(r, g.stride_h, g.pad_h, g.dilation_h, g.height)
                for s in range(s0, s1):
                    w_ow = _in_bounds(s, g.stride_w, g.pad_w, g.dilation_w, g.width)
                    col = j + (r - r0) * (s1 - s0) + (s - s0)
                    for row, n, images, oh0, oh1, ow0, ow1 in row_blocks:
                        a0, a1 = max(oh0, h_oh[0]), min(oh1, h_oh[1])
                        b0, b1 = max(ow0, w_ow[0]), min(ow1, w_ow[1])
                        if a0 >= a1 or b0 >= b1:
                            continue
                        parts.append(
                            TilePart(
                                r * g.kernel_w + s,
                                row + (a0 - oh0) * (ow1 - ow0) + (b0 - ow0),
                                oh1 - oh0,
                                ow1 - ow0,
                                col,
                                span,
                                n,
                                c,
                                a0 * g.stride_h - g.pad_h + r * g.dilation_h,
                                b0 * g.stride_w - g.pad_w + s * g.dilation_w,
                                (images, channels, a1 - a0, b1 - b0),
                            )
                        )
            j += channels * span
    parts.sort(key=lambda part: -part.tap)  # stable: within a tap, the order found
    return tuple(parts)


def _in_bounds(tap: int, stride: int, pad: int, dilation: int, size: int) -> tuple[int, int]:
    """Along one axis, the outputs ``lo..hi`` (half-open) whose ``tap`` lies in ``0..size-1``."""
    first = tap * dilation - pad  # position of output 0's tap
    lo = max(0, -(first // stride)) if first < 0 else 0  # ceil(-first / stride)
    hi = (size - 1 - first) // stride + 1 if size - 1 >= first else 0
    return lo, max(lo, hi)


def tile_box(part: TilePart, tile: np.ndarray) -> np.ndarray:
    """The part's entries of ``tile`` (rows x cols: a C-contiguous array or the transpose of
    one) as a view of shape ``part.shape``."""
    row_stride, col_stride = tile.strides
    return np.ndarray(
        part.shape,
        tile.dtype,
        tile if tile.flags.c_contiguous else tile.T,
        part.row * row_stride + part.col * col_stride,
        (
            part.oh_span * part.ow_span * row_stride,
            part.taps_span * col_stride,
            part.ow_span * row_stride,
            row_stride,
        ),
    )


def tensor_box(
    part: TilePart, tensor: np.ndarray, g: ConvGeometry, origin: tuple[int, ...] = (0, 0, 0, 0)
) -> np.ndarray:
    """The elements the part reads of ``tensor`` (NCHW, or the box of it from ``origin``) as
    a view of shape ``part.shape``."""
    images, channels, a, b = part.shape
    n, c, h, w = part.n - origin[0], part.c - origin[1], part.h - origin[2], part.w - origin[3]
    return tensor[
        n : n + images,
        c : c + channels,
        h : h + (a - 1) * g.stride_h + 1 : g.stride_h,
        w : w + (b - 1) * g.stride_w + 1 : g.stride_w,
    ]


def parts_box(parts: tuple[TilePart, ...], g: ConvGeometry) -> tuple[slice, ...]:
    """The smallest (n, c, h, w) box of the tensor holding every element the parts read."""
    ends = [
        (p.n, p.n + p.shape[0], p.c, p.c + p.shape[1], p.h, p.h + (p.shape[2] - 1) * g.stride_h)
        + (p.w, p.w + (p.shape[3] - 1) * g.stride_w)
        for p in parts
    ]
    return (
        slice(min(e[0] for e in ends), max(e[1] for e in ends)),
        slice(min(e[2] for e in ends), max(e[3] for e in ends)),
        slice(min(e[4] for e in ends), max(e[5] for e in ends) + 1),
        slice(min(e[6] for e in ends), max(e[7] for e in ends) + 1),
    )


def gather_tile(
    g: ConvGeometry, m0: int, rows: int, k0: int, cols: int, tensor: np.ndarray, tile: np.ndarray
) -> None:
    """Copy the tile's in-bounds entries from ``tensor`` (NCHW) into ``tile`` (rows x cols:
    C-contiguous or the transpose of such an array; cast to its type); entries in the
    padding are left as they are."""
    for part in tile_parts(g, m0, rows, k0, cols):
        tile_box(part, tile)[...] = tensor_box(part, tensor, g)


def reads_only_set(g: ConvGeometry, m0: int, rows: int, k0: int, cols: int, mask) -> bool:
    """True if every element the tile reads is set in ``mask`` (bool, NCHW)."""
    return all(tensor_box(part, mask, g).all() for part in tile_parts(g, m0, rows, k0, cols))


def col2im_sums(
    g: ConvGeometry, m0: int, rows: int, k0: int, cols: int, values: np.ndarray
) -> tuple[tuple[slice, ...], np.ndarray, np.ndarray] | None:
    """What a col2im scatter of ``values`` (the tile, rows x cols: C-contiguous or the
    transpose of such an array) adds into the tensor: ``(box, sums, touched)``, None when
    the tile lies in the padding.

    ``box`` is an (n, c, h, w) box of the tensor, ``sums`` (float64) and ``touched`` (bool)
    have its shape: the elements some entry reaches, and for each the sum of its entries,
    from 0.0 in the order of the tile's rows (that of :func:`tile_parts`). These are the
    sums of ``np.bincount`` over the in-bounds entries, bit for bit (but for a NaN's sign
    and payload, which depend on the order of an add's operands when two NaNs meet), without
    sorting.
    """
    parts = tile_parts(g, m0, rows, k0, cols)
    if not parts:
        return None
    box = parts_box(parts, g)
    origin = tuple(axis.start for axis in box)
    shape = tuple(axis.stop - axis.start for axis in box)
    sums = np.zeros(shape, np.float64)
    touched = np.zeros(shape, bool)
    for part in parts:
        tensor_box(part, sums, g, origin)[...] += tile_box(part, values)
        tensor_box(part, touched, g, origin)[...] = True
    return box, sums, touched


def is_injective(geometry: ConvGeometry) -> bool:
    """True if no two im2col entries map to the same tensor element (a scatter may overwrite)."""
    g = geometry
    return (g.kernel_h == 1 or g.stride_h >= g.dilation_h * (g.kernel_h - 1) + 1) and (
        g.kernel_w == 1 or g.stride_w >= g.dilation_w * (g.kernel_w - 1) + 1
    )


@lru_cache(maxsize=1 << 12)
def covers_input(geometry: ConvGeometry) -> bool:
    """True if every position of the NCHW tensor lies in some window of the conv.

    A col2im scatter writes only positions some window reaches: with a stride longer than
    the kernel's span (a 1x1 kernel, stride 2), or windows that stop short of the last rows,
    the others are never written.
    """
    g = geometry
    return _covers(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h) and _covers(
        g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w
    )


def _covers(size: int, kernel: int, stride: int, pad: int, dilation: int) -> bool:
    """Along one axis: does every input position ``0..size-1`` lie under some tap?"""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        return False
    if dilation == 1 and stride <= kernel:  # the windows overlap or touch: one interval
        return -pad <= 0 and (out - 1) * stride - pad + kernel - 1 >= size - 1
    reached = np.zeros(size, bool)
    for r in range(kernel):
        first = r * dilation - pad  # tap r of window o is at first + o * stride
        skip = max(0, -(first // stride)) if first < 0 else 0
        lo = first + skip * stride
        hi = min(first + (out - 1) * stride, size - 1)
        if lo <= hi:
            reached[lo : hi + 1 : stride] = True
    return bool(reached.all())


def im2col_elements(geometry: ConvGeometry, m0: int, rows: int, k0: int, cols: int) -> int:
    """Distinct tensor elements an im2col tile touches (:func:`distinct_elements`, remembered).

    The count does not change when the tile moves by whole images or whole channels, so
    it is asked for the tile moved to the first image and channel: the groups of a
    grouped conv, and the images of a batch, then share one count.
    """
    g = geometry
    if g.pad_h == 0 and g.pad_w == 0 and is_injective(g):
        return rows * cols  # every entry a different element, none in the padding
    per_image = g.out_height * g.out_width
    per_channel = g.kernel_h * g.kernel_w
    return _im2col_elements(g, m0 % per_image, rows, k0 % per_channel, cols)


@lru_cache(maxsize=1 << 16)
def _im2col_elements(geometry: ConvGeometry, m0: int, rows: int, k0: int, cols: int) -> int:
    return distinct_elements(geometry, m0, rows, k0, cols)
