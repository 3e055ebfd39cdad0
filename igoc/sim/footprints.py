"""DRAM footprints of DMAs, and whether two of them on one tensor share an element.

A load or store touches a 2-D block ``("block", offset, stride, rows, cols)`` of
its tensor's elements; a gather or scatter is described by the bounding box
``("box", n0, n1, c0, c1, h0, h1, w0, w1)`` of what it touches (half-open).
The simulator orders a core's loads and stores of a tensor it both reads and
writes by these.
"""

from __future__ import annotations


def footprints_overlap(a: tuple, b: tuple, shape: tuple[int, ...]) -> bool:
    """Whether two DRAM footprints of one tensor share an element.

    Exact for two 2-D blocks and for two boxes; a block against a box compares
    the block's rows with the box's flat extent (may report a false overlap).
    """
    if a[0] == "block" and b[0] == "block":
        _, off_a, st_a, rows_a, cols_a = a
        _, off_b, st_b, rows_b, cols_b = b
        if st_a == st_b:
            return _families_meet(off_a - off_b, st_a, rows_a, rows_b, cols_a, cols_b)
        if rows_a > rows_b:
            a, b = b, a
            _, off_a, st_a, rows_a, cols_a = a
            _, off_b, st_b, rows_b, cols_b = b
        return any(
            _families_meet(off_a + r * st_a - off_b, st_b, 1, rows_b, cols_a, cols_b)
            for r in range(rows_a)
        )
    if a[0] == "box" and b[0] == "box":
        return all(
            max(a[1 + 2 * d], b[1 + 2 * d]) < min(a[2 + 2 * d], b[2 + 2 * d]) for d in range(4)
        )
    block, box = (a, b) if a[0] == "block" else (b, a)
    _, n0, n1, c0, c1, h0, h1, w0, w1 = box
    if h0 >= h1 or w0 >= w1:
        return False
    _, ch, hh, ww = (tuple([1] * 4) + tuple(shape))[-4:]
    lo = ((n0 * ch + c0) * hh + h0) * ww + w0
    hi = (((n1 - 1) * ch + c1 - 1) * hh + h1 - 1) * ww + w1
    _, off, st, rows, cols = block
    return any(off + r * st < hi and lo < off + r * st + cols for r in range(rows))


def _families_meet(d: int, stride: int, rows_a: int, rows_b: int, cols_a: int, cols_b: int):
    """Whether rows ``[d + i*stride, +cols_a)`` (i < rows_a) meet ``[j*stride, +cols_b)``.

    Row i of the first meets row j of the second iff ``-cols_a < d + (i - j)*stride < cols_b``;
    ``t = i - j`` ranges over ``-(rows_b-1) .. rows_a-1``.
    """
    t_min, t_max = -(rows_b - 1), rows_a - 1
    if stride == 0:
        return -cols_a < d < cols_b
    t = max(t_min, (-cols_a - d) // stride + 1)
    return t <= t_max and d + t * stride < cols_b
