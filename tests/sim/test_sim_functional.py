"""Functional mode: conv gradients through gathers and scatters, element types, shared SPM."""

from __future__ import annotations

import numpy as np
import pytest
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
