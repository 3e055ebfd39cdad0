"""The DRAM bytes of a tile movement (``emit.moved_bytes``), which the cost model counts for
every load and store it estimates, against the rules worked out afresh.

``moved_bytes`` remembers what it needs of each access and the element counts of im2col
tiles; the rules below are the instruction set's: a load reads the tile's distinct tensor
elements (an im2col gather reads each element once), a store writes them (and reads them
too when it adds into the tensor: a partial reduction, or a col2im scatter whose windows
overlap), a spill or reload moves the tile's partial sums; a partial reduction's store goes
to the wider partial-sum buffer when partial sums are wider than the output.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.isa.im2col import im2col_elements, is_injective
from igoc.isa.instructions import DType
from igoc.schedule import emit
from igoc.schedule.emit import moved_bytes, partial_name, psum_name
from igoc.schedule.layer import conv_layers, matmul_layer

TENSORS = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}
KINDS = ("load", "reload", "spill", "store", "store_acc")


def expected(kind: str, key: tuple, psum: DType) -> tuple[str, int, int]:
    access, _, r0, c0, rows, cols = key
    if kind in ("spill", "reload"):
        nbytes = rows * cols * psum.nbytes
        read = nbytes if kind == "reload" else 0
        return psum_name(access.tensor), read, nbytes - read
    if access.kind == "im2col":
        elems = im2col_elements(
            access.conv, access.row_offset + r0, rows, access.col_offset + c0, cols
        )
    else:
        elems = rows * cols
    if kind == "load":
        return access.tensor, elems * access.dtype.nbytes, 0
    if kind == "store_acc" and psum.nbytes > access.dtype.nbytes:
        return partial_name(access.tensor), elems * psum.nbytes, elems * psum.nbytes
    adds = kind == "store_acc" or (access.kind == "im2col" and not is_injective(access.conv))
    nbytes = elems * access.dtype.nbytes
    return access.tensor, nbytes if adds else 0, nbytes


def accesses(stride: int, kernel: int, groups: int, dtype: DType) -> list:
    convs = conv_layers(
        "c", (2, 2 * groups, 7, 6), (2 * groups, 2, kernel, kernel), (stride, stride), (1, 0),
        (1, 1), groups, dtype, TENSORS,
    )  # fmt: skip
    gemm = matmul_layer("m", 5, 7, 3, dtype, TENSORS)
    return [a for layer in [*convs, gemm] for a in layer.accesses.values()]


@settings(max_examples=80, deadline=None)
@given(
    stride=st.integers(1, 3),
    kernel=st.integers(1, 3),
    groups=st.integers(1, 2),
    dtype=st.sampled_from([DType.F16, DType.F32]),
    psum=st.sampled_from([DType.F16, DType.F32]),
    picks=st.lists(
        st.tuples(
            st.integers(0, 100),
            st.sampled_from(KINDS),
            st.floats(0, 1),
            st.floats(0, 1),
            st.floats(0, 1),
            st.floats(0, 1),
        ),
        min_size=1,
        max_size=12,
    ),  # fmt: skip
)
def test_moved_bytes_follow_the_rules(stride, kernel, groups, dtype, psum, picks):
    """Every kind of movement of tiles of row-major, transposed and im2col accesses (grouped,
    strided, overlapping windows), asked twice (the second answer is remembered)."""
    found = accesses(stride, kernel, groups, dtype)
    for index, kind, a, b, c, d in picks:
        access = found[index % len(found)]
        r0 = int(a * (access.view_rows - 1))
        c0 = int(b * (access.view_cols - 1))
        rows = 1 + int(c * (access.view_rows - r0 - 1))
        cols = 1 + int(d * (access.view_cols - c0 - 1))
        key = (access, kind in ("spill", "reload", "store", "store_acc"), r0, c0, rows, cols)
        want = expected(kind, key, psum)
        assert moved_bytes(kind, key, psum) == want
        assert moved_bytes(kind, key, psum) == want


def test_moved_bytes_after_the_memories_are_full(monkeypatch):
    """When the remembered accesses, geometries or element counts reach their limits they
    are forgotten, and the answers stay the same."""
    # from empty memories: geometries an earlier test left behind are found, not added
    monkeypatch.setattr(emit, "_MOVES", {})
    monkeypatch.setattr(emit, "_CONVS", {})
    monkeypatch.setattr(emit, "_MOVES_LIMIT", 2)
    monkeypatch.setattr(emit, "_CONVS_LIMIT", 1)
    monkeypatch.setattr(emit, "_COUNTS_LIMIT", 3)
    found = accesses(2, 3, 2, DType.F16) + accesses(1, 3, 1, DType.F16)
    for round_ in range(2):
        for access in found:
            for r0 in range(0, min(4, access.view_rows)):
                key = (access, False, r0, round_, 2, 3)
                assert moved_bytes("load", key, DType.F32) == expected("load", key, DType.F32)
    assert len(emit._MOVES) <= 2 and len(emit._CONVS) <= 1
    assert all(len(counts) <= 3 for _, _, _, _, counts in emit._CONVS.values())


def test_groups_images_and_copies_of_an_access_share_their_counts(monkeypatch):
    """A tile's count, once worked out, serves the same tile in every group of a grouped
    conv, in every image of the batch, and in accesses other passes make of the geometry."""
    asked = []

    def counting(*args):
        asked.append(args)
        return im2col_elements(*args)

    monkeypatch.setattr(emit, "im2col_elements", counting)
    monkeypatch.setattr(emit, "_MOVES", {})
    monkeypatch.setattr(emit, "_CONVS", {})
    shape = ((2, 8, 7, 6), (8, 1, 3, 3), (2, 2), (1, 1), (1, 1), 8, DType.F16, TENSORS)
    layers = conv_layers("c", *shape)
    again = conv_layers("c", *shape)  # as another pass describes the same op
    per_image = layers[0].accesses["X"].conv.out_height * layers[0].accesses["X"].conv.out_width
    for group in [*layers, *again]:
        for image in range(2):
            key = (group.accesses["X"], False, image * per_image + 1, 2, 5, 4)
            assert moved_bytes("load", key, DType.F32) == expected("load", key, DType.F32)
    assert len(asked) == 1
