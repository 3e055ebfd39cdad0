"""The numpy reference of the grad ops: brute-force loops on tiny shapes, and adjoint identities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc import reference
from igoc.isa.instructions import DType
from igoc.isa.numerics import bf16_bits, bf16_values, round_to


def conv_loops(x, w, stride, pad, dil, groups):
    """Forward conv, one output element at a time (PyTorch's definition)."""
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, cout, oh, ow))
    per_group = cout // groups
    for b in range(n):
        for o in range(cout):
            g = o // per_group
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for c in range(cin_g):
                        for r in range(kh):
                            for s in range(kw):
                                hh = i * stride[0] - pad[0] + r * dil[0]
                                ww = j * stride[1] - pad[1] + s * dil[1]
                                if 0 <= hh < h and 0 <= ww < wd:
                                    acc += x[b, g * cin_g + c, hh, ww] * w[o, c, r, s]
                    y[b, o, i, j] = acc
    return y


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 2))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 6))
    w = draw(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 6))
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, cin, h, w)).astype(np.float32)
    wt = rng.standard_normal((cout, cin // groups, kh, kw)).astype(np.float32)
    attrs = {"stride": list(stride), "padding": list(pad), "dilation": list(dil), "groups": groups}
    return x, wt, attrs, rng


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_loops(case):
    x, w, attrs, _ = case
    expected = conv_loops(
        x, w, attrs["stride"], attrs["padding"], attrs["dilation"], attrs["groups"]
    )
    np.testing.assert_allclose(reference.conv2d(x, w, **attrs), expected, rtol=1e-4, atol=1e-4)


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_conv2d_dx_and_dw_are_the_adjoints_of_conv2d(case):
    """<conv2d(x, w), dy> == <x, conv2d_dx(dy, w)> == <w, conv2d_dw(x, dy)>."""
    x, w, attrs, rng = case
    y = reference.conv2d(x, w, **attrs)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = reference.conv2d_dx(dy, w, input_hw=x.shape[2:], **attrs)
    dw = reference.conv2d_dw(x, dy, kernel_hw=w.shape[2:], **attrs)
    assert dx.shape == x.shape and dw.shape == w.shape
    forward = float(np.sum(y.astype(np.float64) * dy))
    assert np.isclose(float(np.sum(x.astype(np.float64) * dx)), forward, rtol=1e-4, atol=1e-3)
    assert np.isclose(float(np.sum(w.astype(np.float64) * dw)), forward, rtol=1e-4, atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_taps_summed_a_sample_at_a_time_give_the_whole_batch_bits(case):
    """Large convolutions sum their taps one sample at a time: the same bits as the batch."""
    x, w, attrs, rng = case
    x = np.concatenate([x, x[::-1] * 0.5, -x])  # a few more samples, some alike
    y = reference.conv2d(x, w, **attrs)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = reference.conv2d_dx(dy, w, input_hw=x.shape[2:], **attrs)
    original = reference.PER_SAMPLE_BYTES
    reference.PER_SAMPLE_BYTES = 0
    try:
        assert reference._parts(y) != [slice(None)]
        assert reference.conv2d(x, w, **attrs).tobytes() == y.tobytes()
        assert reference.conv2d_dx(dy, w, input_hw=x.shape[2:], **attrs).tobytes() == dx.tobytes()
    finally:
        reference.PER_SAMPLE_BYTES = original


@settings(max_examples=40)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**16))
def test_matmul_family(m, k, n, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    dy = rng.standard_normal((m, n))
    loops = np.array(
        [[sum(x[i, p] * w[p, j] for p in range(k)) for j in range(n)] for i in range(m)]
    )
    np.testing.assert_allclose(reference.matmul(x, w), loops, rtol=1e-5, atol=1e-5)
    # dX = dY.Wᵀ and dW = Xᵀ.dY are the adjoints of Y = X.W
    forward = np.sum(loops * dy)
    assert np.isclose(np.sum(x * reference.matmul_dx(dy, w)), forward, rtol=1e-4, atol=1e-4)
    assert np.isclose(np.sum(w * reference.matmul_dw(x, dy)), forward, rtol=1e-4, atol=1e-4)


def test_evaluate_chains_ops_and_rounds_to_the_output_type():
    rng = np.random.default_rng(0)
    dy = round_to(rng.standard_normal((4, 6)), DType.F16)
    w2 = round_to(rng.standard_normal((5, 6)), DType.F16)
    w1 = round_to(rng.standard_normal((3, 5)), DType.F16)
    ops = [
        {"op": "matmul_dx", "inputs": ["dy", "w2"], "outputs": ["h"], "attrs": {}},
        {"op": "matmul_dx", "inputs": ["h", "w1"], "outputs": ["dx"], "attrs": {}},
    ]
    shapes = {"h": ((4, 5), DType.F16), "dx": ((4, 3), DType.BF16)}
    out = reference.evaluate(ops, {"dy": dy, "w2": w2, "w1": w1}, shapes)
    h = (dy.astype(np.float32) @ w2.astype(np.float32).T).astype(np.float16)
    np.testing.assert_array_equal(out["h"], h)
    assert out["h"].dtype == np.float16
    dx = h.astype(np.float32) @ w1.astype(np.float32).T
    np.testing.assert_array_equal(out["dx"], bf16_values(bf16_bits(dx)))


def test_strided_conv_dx_takes_the_input_size_from_the_output_shape():
    dy = np.ones((1, 1, 2, 2), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    ops = [
        {
            "op": "conv2d_dx",
            "inputs": ["dy", "w"],
            "outputs": ["dx"],
            "attrs": {"stride": [2, 2], "padding": [1, 1]},
        }
    ]
    small = reference.evaluate(ops, {"dy": dy, "w": w}, {"dx": ((1, 1, 3, 3), DType.F32)})
    large = reference.evaluate(ops, {"dy": dy, "w": w}, {"dx": ((1, 1, 4, 4), DType.F32)})
    assert small["dx"].shape == (1, 1, 3, 3) and large["dx"].shape == (1, 1, 4, 4)
    assert (
        large["dx"][0, 0, 3, 3] == 1.0 and small["dx"].sum() == 16.0
    )  # four windows of 2x2 in-bounds taps


@pytest.mark.parametrize(
    "ops, message",
    [
        ([{"op": "conv3d", "inputs": ["a", "b"], "outputs": ["c"]}], "unknown op 'conv3d'"),
        ([{"op": "matmul", "inputs": ["a", "zz"], "outputs": ["c"]}], "no tensor 'zz'"),
        ([{"op": "matmul", "inputs": ["a", "a"], "outputs": ["c"]}], "do not match"),
        ([{"op": "matmul", "inputs": ["a", "b"], "outputs": []}], "one output"),
        (["matmul"], "not an object"),
    ],
)
def test_bad_op_lists_are_reference_errors(ops, message):
    inputs = {"a": np.ones((2, 3)), "b": np.ones((3, 4))}
    with pytest.raises(reference.ReferenceError, match=message):
        reference.evaluate(ops, inputs)


def test_bf16_rounding_is_to_nearest_even():
    values = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-9, -2.5, np.inf, 3.4e38], np.float32)
    got = bf16_values(bf16_bits(values))
    assert got[0] == 1.0
    assert got[1] == 1.0  # halfway between 1 and 1 + 2^-7: ties to even (1.0)
    assert got[2] == 1 + 2**-6  # halfway, ties to the even neighbour above
    assert got[3] == 1.0
    assert got[4] == -2.5 and np.isinf(got[5]) and np.isinf(got[6])
    assert np.isnan(bf16_values(bf16_bits(np.array([np.nan], np.float32))))[0]
