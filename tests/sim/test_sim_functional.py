"""Functional mode: conv gradients through gathers and scatters, element types, shared SPM."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import tiny_target

from igoc import reference
from igoc.isa.instructions import ConvGeometry, DType, Gather, Halt, Load, Matmul, Scatter, Store
from igoc.isa.numerics import round_to
from igoc.isa.program import Program, layout_tensors
from igoc.sim import SimError, simulate

F16, F32 = DType.F16, DType.F32


def conv_setup(stride=2, pad=1, n=1, cin=2, h=5, w=5, cout=3, k=3):
    g = ConvGeometry(n, cin, h, w, k, k, stride, stride, pad, pad)
    dy_view = ConvGeometry(n, cout, g.out_height, g.out_width)
    tensors = layout_tensors(
        [
            ("x", "input", F16, (n, cin, h, w)),
            ("w", "input", F16, (cout, cin, k, k)),
            ("dy", "input", F16, (n, cout, g.out_height, g.out_width)),
            ("dx", "output", F16, (n, cin, h, w)),
            ("dw", "output", F16, (cout, cin, k, k)),
        ]
    )
    rng = np.random.default_rng(3)
    inputs = {
        name: round_to(rng.standard_normal(tensors[i].shape, dtype=np.float32), F16)
        for i, name in enumerate(["x", "w", "dy"])
    }
    return g, dy_view, tensors, inputs


def test_conv2d_dx_by_matmul_and_col2im_scatter():
    """dX_col (M x K) = dY_mat (M x Cout) . W_mat (Cout x K), folded back by scatters.

    M is split into two row tiles and K into two column tiles, so scatters of
    different tiles add into the same dX elements (overlapping 3x3 windows)."""
    g, dy_view, tensors, inputs = conv_setup()
    M, K, cout = g.rows, g.cols, tensors[1].shape[0]
    n, cin, h, w = tensors[3].shape
    stream = [Store(3, 0, n * cin * h, w, w, 0, F16, zero=True)]  # dX holds old data: zero it
    for m0, mm in ((0, 5), (5, M - 5)):
        stream.append(Gather(2, 1, m0, 0, mm, cout, 0x0, F16))  # dY_mat rows m0.., M x Cout
        for k0, kk in ((0, 10), (10, K - 10)):
            stream.append(Load(1, k0, cout, kk, K, 0x1000, F16))  # W_mat[:, k0:k0+kk]
            stream.append(Matmul(0x0, 0x1000, 0x2000, mm, cout, kk, F16, F32))
            stream.append(Scatter(3, 0, m0, k0, mm, kk, 0x2000, F32, accumulate=True))
    stream.append(Halt())
    program = Program(tiny_target(), tensors, [g, dy_view], [stream])
    result = simulate(program, functional=True, inputs=inputs)
    expected = reference.conv2d_dx(inputs["dy"], inputs["w"], input_hw=(5, 5), stride=2, padding=1)
    got = result.tensors["dx"].astype(np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-2, atol=1e-2)
    assert result.report["traffic"]["dx"]["write"] > tensors[3].nbytes  # the zeros, then sums
    assert result.unwritten["dx"] == 0


def test_accumulating_into_old_data_is_an_error():
    """Without the zero store, the first scatter would add to whatever DRAM held."""
    g, dy_view, tensors, inputs = conv_setup()
    stream = [
        Gather(2, 1, 0, 0, 4, 3, 0x0, F16),
        Load(1, 0, 3, 6, g.cols, 0x1000, F16),
        Matmul(0x0, 0x1000, 0x2000, 4, 3, 6, F16, F32),
        Scatter(3, 0, 0, 0, 4, 6, 0x2000, F32, accumulate=True),
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [g, dy_view], [stream])
    with pytest.raises(SimError, match=r"instruction 3 \(scatter\): reads element .* of 'dx', "):
        simulate(program, functional=True, inputs=inputs)
    stream[3] = Scatter(3, 0, 0, 0, 4, 6, 0x2000, F32, accumulate=False)
    result = simulate(program, functional=True, inputs=inputs)
    assert 0 < result.unwritten["dx"] < tensors[3].numel  # what the one tile left out


def test_conv2d_dw_by_gathers():
    """dW (Cout x K) = dY_matᵀ (Cout x M) . X_col (M x K): dY gathered through a 1x1 view and
    read transposed by the matmul, X gathered as im2col tiles, two M steps accumulated."""
    g, dy_view, tensors, inputs = conv_setup(stride=1, pad=1, h=4, w=4)
    M, K, cout = g.rows, g.cols, 3
    half = M // 2
    stream = []
    for step, m0 in enumerate((0, half)):
        stream.append(Gather(2, 1, m0, 0, half, cout, 0x0, F16))  # dY tile, M x Cout
        stream.append(Gather(0, 0, m0, 0, half, K, 0x400, F16))  # X_col tile, M x K
        stream.append(
            Matmul(0x0, 0x400, 0x2000, cout, half, K, F16, F32, step > 0, transpose_a=True)
        )
    stream.append(Store(4, 0, cout, K, K, 0x2000, F32))
    stream.append(Halt())
    program = Program(tiny_target(), tensors, [g, dy_view], [stream])
    result = simulate(program, functional=True, inputs=inputs)
    expected = reference.conv2d_dw(inputs["x"], inputs["dy"], kernel_hw=(3, 3), stride=1, padding=1)
    np.testing.assert_allclose(
        result.tensors["dw"].astype(np.float32), expected, rtol=1e-2, atol=1e-2
    )
    # X is 2*4*4 = 32 elements; each gather reads the distinct ones its rows need, never 9x
    x_read = result.report["traffic"]["x"]["read"]
    assert 32 * 2 <= x_read <= 2 * 32 * 2


@pytest.mark.parametrize("dtype", [DType.F16, DType.BF16, DType.F32])
def test_element_types_round_trip_through_spm(dtype):
    tensors = layout_tensors([("a", "input", dtype, (4, 4)), ("c", "output", dtype, (4, 4))])
    stream = [Load(0, 0, 4, 4, 4, 0, DType.BF16), Store(1, 0, 4, 4, 4, 0, DType.BF16), Halt()]
    program = Program(tiny_target(), tensors, [], [stream])
    values = np.linspace(-3, 3, 16, dtype=np.float32).reshape(4, 4) + 1 / 3
    result = simulate(program, functional=True, inputs={"a": values})
    via_bf16 = round_to(round_to(round_to(values, dtype), DType.BF16), dtype)
    np.testing.assert_array_equal(result.outputs["c"], via_bf16)
    assert result.report["traffic"]["a"]["read"] == 16 * dtype.nbytes


def test_shared_spm_lets_cores_exchange_tiles_after_a_barrier():
    from igoc.isa.instructions import Barrier

    target = tiny_target(cores=2, spm_shared=True)
    tensors = layout_tensors([("a", "input", F16, (4, 4)), ("c", "output", F16, (4, 4))])
    base1 = target.spm_bytes
    streams = [
        [Load(0, 0, 4, 4, 4, base1, F16), Barrier(0, 3), Halt()],  # core 0 writes core 1's area
        [Barrier(0, 3), Store(1, 0, 4, 4, 4, base1, F16), Halt()],
    ]
    program = Program(target, tensors, [], streams)
    values = np.arange(16, dtype=np.float32).reshape(4, 4)
    result = simulate(program, functional=True, inputs={"a": values})
    np.testing.assert_array_equal(result.outputs["c"], values.astype(np.float16))
    # Core 0 wrote 32 bytes of core 1's SPM and nothing of its own: each SPM counts its own.
    assert result.report["spm_peak_bytes"] == 32
    assert [c["spm_peak_bytes"] for c in result.report["per_core"]] == [0, 32]


def test_accumulating_stores_from_two_cores_add_up():
    from igoc.isa.instructions import Barrier

    target = tiny_target(cores=2)
    tensors = layout_tensors([("a", "input", F16, (4, 4)), ("c", "output", F32, (4, 4))])
    core = [Load(0, 0, 4, 4, 4, 0, F16), Store(1, 0, 4, 4, 4, 0, F16, accumulate=True)]
    zero = [Store(1, 0, 4, 4, 4, 0, F32, zero=True)]  # c holds old data until core 0 zeroes it
    streams = [
        zero + [Barrier(0, 3)] + core + [Barrier(1, 3), Halt()],
        [Barrier(0, 3)] + core + [Barrier(1, 3), Halt()],
    ]
    program = Program(target, tensors, [], streams)
    values = np.arange(16, dtype=np.float32).reshape(4, 4)
    result = simulate(program, functional=True, inputs={"a": values})
    np.testing.assert_array_equal(result.outputs["c"], 2 * values)
    assert result.report["traffic"]["c"] == {"read": 128, "write": 64 + 128}


def test_transposed_gather_and_store():
    """A gathered tile lands transposed; a transposed store writes it back the right way round."""
    g = ConvGeometry(1, 2, 4, 4, 3, 3, 1, 1, 1, 1)  # im2col 16 x 18
    tensors = layout_tensors(
        [
            ("x", "input", F16, (1, 2, 4, 4)),
            ("t", "output", F16, (5, 7)),
            ("u", "output", F16, (7, 5)),
        ]
    )
    stream = [
        Gather(0, 0, 3, 4, 7, 5, 0x0, F16, transpose=True),  # SPM: 5 x 7
        Store(1, 0, 5, 7, 7, 0x0, F16),  # t = tile transposed
        Store(2, 0, 7, 5, 5, 0x0, F16, transpose=True),  # u = the tile itself
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [g], [stream])
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    result = simulate(program, functional=True, inputs={"x": x})
    from igoc.isa.im2col import tile_indices

    idx, valid = tile_indices(g, 3, 7, 4, 5)
    tile = np.where(valid, x.reshape(-1)[idx], 0)
    np.testing.assert_array_equal(result.outputs["u"], tile)
    np.testing.assert_array_equal(result.outputs["t"], tile.T)


def test_spm_peak_is_per_core_on_a_multi_core_target():
    """Core c of server-2c addresses its SPM from c * spm_bytes; the peak counts from there."""
    import pathlib

    from igoc.api import compile_file
    from igoc.target import load_target

    sample = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics" / "conv3x3.mlir"
    target = load_target("server-2c")
    report = simulate(compile_file(str(sample), "server-2c", "baseline")).report
    peaks = [core["spm_peak_bytes"] for core in report["per_core"]]
    assert all(0 < peak <= target.spm_bytes for peak in peaks)
    assert report["spm_peak_bytes"] == max(peaks) <= target.spm_bytes


def test_inputs_no_instruction_writes_are_kept_read_only_and_unchanged():
    tensors = layout_tensors(
        [("a", "input", F16, (4, 4)), ("b", "input", F16, (4, 4)), ("c", "output", F16, (4, 4))]
    )
    stream = [
        Load(0, 0, 4, 4, 4, 0, F16),
        Store(1, 0, 4, 4, 4, 0, F16),  # a program may overwrite an input: b is copied
        Store(2, 0, 4, 4, 4, 0, F16),
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [], [stream])
    a = round_to(np.arange(16, dtype=np.float32).reshape(4, 4), F16)
    b = np.zeros((4, 4), np.float16)
    result = simulate(program, functional=True, inputs={"a": a, "b": b})
    assert not result.tensors["a"].flags.writeable
    np.testing.assert_array_equal(result.tensors["b"], a)
    assert not b.any()  # the caller's array is not written
    np.testing.assert_array_equal(result.outputs["c"], a)


def test_a_tensor_written_whole_may_be_read_and_counts_no_unwritten_elements():
    """The mask of written elements goes once every element is written; reads go on."""
    tensors = layout_tensors([("a", "input", F32, (4, 4)), ("c", "output", F32, (4, 4))])
    stream = [
        Load(0, 0, 4, 4, 4, 0, F32),
        Store(1, 0, 2, 4, 4, 0, F32),  # the first two rows
        Store(1, 8, 2, 4, 4, 32, F32),  # the last two
        Store(1, 0, 4, 4, 4, 0, F32, accumulate=True),  # reads c whole: every element written
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [], [stream])
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    result = simulate(program, functional=True, inputs={"a": a})
    np.testing.assert_array_equal(result.outputs["c"], 2 * a)
    assert result.unwritten == {"c": 0}
    stream[2] = Store(1, 8, 1, 4, 4, 32, F32)  # one row never written: the read fails
    with pytest.raises(SimError, match=r"instruction 3 \(store\): reads element 12 of 'c'"):
        simulate(program, functional=True, inputs={"a": a})


WEIRD = [0.0, -0.0, 1e-8, -6e-8, 65504.0, 70000.0, -1e30, float("inf"), float("nan"), 1 / 3]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),  # write (or read)
            st.sampled_from([0, 2, 8, 16, 18]),  # address: few, so that ranges meet again
            st.integers(1, 3),
            st.integers(1, 3),  # shape
            st.sampled_from(list(DType)),
            st.booleans(),  # written values handed over as fresh
        ),
        min_size=1,
        max_size=40,
    ),
    st.data(),
)
def test_spm_reads_are_the_bytes_decoded_whatever_was_kept(ops, data):
    """Writes cast straight into the SPM bytes give ``to_spm_bytes``'s bytes; every read gives
    ``from_spm_bytes`` of the bytes as they are now, although ranges read or written whole
    are kept decoded (and writes over part of them must drop them)."""
    from igoc.isa.encoding import Opcode
    from igoc.isa.numerics import from_spm_bytes, to_spm_bytes
    from igoc.sim.functional import Machine

    program = Program(tiny_target(), [], [], [[Halt()]])
    machine = Machine(program, {}, 64)
    machine.program_records = [np.full(1, Opcode.LOAD, [("op", np.uint8)])]
    model = np.zeros(64, np.uint8)
    written = np.zeros(64, bool)
    for write, addr, rows, cols, dtype, fresh in ops:
        end = addr + rows * cols * dtype.nbytes
        if write:
            values = np.array(
                data.draw(
                    st.lists(
                        st.one_of(st.sampled_from(WEIRD), st.floats(width=32)),
                        min_size=rows * cols,
                        max_size=rows * cols,
                    )
                ),
                np.float32,
            ).reshape(rows, cols)
            if data.draw(st.booleans()):
                values = np.ascontiguousarray(values.T).T  # a transposed view
            with np.errstate(over="ignore", invalid="ignore"):
                model[addr:end] = to_spm_bytes(values, dtype)
                machine.write_spm(addr, values, dtype, fresh=fresh and values.flags.c_contiguous)
            written[addr:end] = True
        elif written[addr:end].all():
            got = machine.read_spm(addr, rows * cols, dtype)
            assert got.tobytes() == from_spm_bytes(model[addr:end], dtype).tobytes()
        else:
            with pytest.raises(SimError, match="never written"):
                machine.read_spm(addr, rows * cols, dtype)
        assert machine.spm[0].tobytes() == model.tobytes()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 3),
    st.integers(0, 6),
    st.sampled_from(list(DType)),
    st.sampled_from(list(DType)),
    st.sampled_from(list(DType)),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_loads_and_stores_move_the_indexed_elements(
    rows, cols, pad, offset, a_type, spm_type, c_type, transpose_in, transpose_out, zero, seed
):
    """A block loaded (its rows ``stride`` apart, overlapping when the stride is shorter),
    stored, then added onto itself: every element as indexing the flat tensors gives it,
    converted through float32 to each type on the way, bit for bit; without a zero store
    first, the elements outside the block are never written."""
    stride = max(cols + pad - 2, 0)  # shorter than cols in some draws: rows overlap
    if rows == 1:
        stride = cols
    tile_rows, tile_cols = (cols, rows) if transpose_in else (rows, cols)
    back = dict(transpose=True) if transpose_out else {}
    s_rows, s_cols = (tile_cols, tile_rows) if transpose_out else (tile_rows, tile_cols)
    step = s_cols + pad  # the stored rows, ``pad`` apart
    size = offset + max((rows - 1) * stride + cols, (s_rows - 1) * step + s_cols) + 4
    tensors = layout_tensors([("a", "input", a_type, (size,)), ("c", "output", c_type, (size,))])
    stream = [
        Load(0, offset, rows, cols, stride, 0, spm_type, transpose=transpose_in),
        *([Store(1, 0, 1, size, size, 0, c_type, zero=True)] if zero else []),
        Store(1, offset, s_rows, s_cols, step, 0, spm_type, **back),
        Store(1, offset, s_rows, s_cols, step, 0, spm_type, True, **back),
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [], [stream])
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(size, dtype=np.float32) * 1e3
    a[rng.integers(0, size)] = np.nan
    result = simulate(program, functional=True, inputs={"a": a})

    a_stored = round_to(a, a_type)
    index = offset + np.arange(rows)[:, None] * stride + np.arange(cols)
    tile = round_to(a_stored[index].astype(np.float32), spm_type).astype(np.float32)
    if transpose_in:
        tile = tile.T
    moved = tile.T if transpose_out else tile
    out_index = offset + np.arange(s_rows)[:, None] * step + np.arange(s_cols)
    c = round_to(np.zeros(size, np.float32), c_type)
    c[out_index] = round_to(moved, c_type)
    c[out_index] = round_to(c[out_index].astype(np.float32) + moved, c_type)
    assert result.outputs["c"].tobytes() == c.tobytes()
    assert result.unwritten["c"] == (0 if zero else size - s_rows * s_cols)


SCATTER_VALUES = st.one_of(
    st.floats(-4, 4, width=32),
    st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e-30, 65519.0]),
)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 2),  # kernel side
    st.integers(0, 1),  # extra stride beyond the kernel: windows apart
    st.integers(0, 1),  # padding
    st.sampled_from([F16, DType.BF16, F32]),  # dx's type
    st.sampled_from([F16, F32]),  # the tile's type in SPM
    st.booleans(),  # zero dx first
    st.data(),
)
def test_scatters_of_windows_apart_give_the_bits_of_summed_scatters(
    k, extra, pad, dtype, spm_dtype, zero, data
):
    """Where no two entries of a conv reach one element, a scatter writes each entry (plus
    0.0) straight into the tensor: the bits of summing per element first, special values
    and old-data errors alike."""
    import igoc.sim.functional as functional

    g = ConvGeometry(data.draw(st.integers(1, 2)), 2, 5, 4, k, k, k + extra, k + extra, pad, pad)
    assert functional.is_injective(g)
    rows, cols = g.rows, g.cols
    tensors = layout_tensors(
        [("v", "input", F32, (rows, cols)), ("dx", "output", dtype, (g.batch, 2, 5, 4))]
    )
    values = data.draw(st.lists(SCATTER_VALUES, min_size=rows * cols, max_size=rows * cols))
    inputs = {"v": np.array(values, np.float32).reshape(rows, cols)}
    stream = [Store(1, 0, g.batch * 2 * 5, 4, 4, 0, dtype, zero=True)] if zero else []
    for accumulate in (False, True):
        m0 = data.draw(st.integers(0, rows - 1))
        k0 = data.draw(st.integers(0, cols - 1))
        mm, kk = data.draw(st.integers(1, rows - m0)), data.draw(st.integers(1, cols - k0))
        stream.append(Load(0, m0 * cols + k0, mm, kk, cols, 0x0, spm_dtype))
        stream.append(Scatter(1, 0, m0, k0, mm, kk, 0x0, spm_dtype, accumulate=accumulate))
    stream.append(Halt())
    program = Program(tiny_target(), tensors, [g], [stream])

    def run():
        try:
            result = simulate(program, functional=True, inputs=dict(inputs))
        except SimError as err:
            return str(err)
        return result.tensors["dx"].tobytes(), result.unwritten["dx"]

    fast = run()
    original = functional.is_injective
    functional.is_injective = lambda geometry: False  # every scatter sums per element
    try:
        summed = run()
    finally:
        functional.is_injective = original
    assert fast == summed
