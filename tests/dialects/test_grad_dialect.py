"""The grad dialect: shape rules, verifiers, builders and the uniform syntax."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    Builtin,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    f64,
    i64,
)
from xdsl.ir import Block, Region
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from igoc.dialects.grad import (
    Conv2DDwOp,
    Conv2DDxOp,
    Conv2DOp,
    ConvParams,
    Grad,
    InterleavedOp,
    MatmulDwOp,
    MatmulDxOp,
    MatmulOp,
    conv_output_size,
)
from igoc.dialects.sched import GemmAttr, Sched


def tensor(*shape, element=f16):
    return TensorType(element, shape)


def values(*types):
    """Fresh SSA values of the given types (block arguments)."""
    return Block(arg_types=types).args


def properties(params: ConvParams) -> dict:
    def pair(values):
        return ArrayAttr([IntegerAttr(v, i64) for v in values])

    return {
        "stride": pair(params.stride),
        "padding": pair(params.padding),
        "dilation": pair(params.dilation),
        "groups": IntegerAttr(params.groups, i64),
    }


def verify(op):
    """Verify one op on its own (as its parent would)."""
    op.verify()


# ---- conv_output_size ------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "expected"),
    [
        (56, 3, 1, 1, 1, 56),  # "same" 3x3
        (56, 3, 2, 1, 1, 28),  # strided
        (55, 3, 2, 1, 1, 28),  # 55 and 56 both give 28
        (224, 7, 2, 3, 1, 112),  # ResNet's stem
        (8, 1, 1, 0, 1, 8),  # 1x1
        (9, 3, 1, 2, 2, 9),  # dilation 2 with padding 2
        (2, 5, 1, 0, 1, -2),  # kernel larger than the input
    ],
)
def test_conv_output_size(size, kernel, stride, padding, dilation, expected):
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected


def test_conv_params_output_hw_uses_each_axis():
    params = ConvParams(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    assert params.output_hw(16, 16, 3, 3) == (8, 12)


# ---- matmul family ------------------------------------


def test_matmul_builders_infer_result_types():
    x, w, dy = values(tensor(8, 32), tensor(32, 16), tensor(8, 16))
    y, dx, dw = MatmulOp(x, w), MatmulDxOp(dy, w), MatmulDwOp(x, dy)
    assert y.y.type == tensor(8, 16)
    assert dx.dx.type == tensor(8, 32)
    assert dw.dw.type == tensor(32, 16)
    for op in (y, dx, dw):
        verify(op)


@pytest.mark.parametrize("element", [f16, bf16, f32])
def test_matmul_accepts_each_element_type(element):
    x, w = values(tensor(4, 8, element=element), tensor(8, 2, element=element))
    verify(MatmulOp(x, w))


def test_matmul_inner_dimension_named():
    x, w = values(tensor(4, 8), tensor(9, 2))
    op = MatmulOp.create(operands=[x, w], result_types=[tensor(4, 2)])
    with pytest.raises(
        VerifyException, match=r"inner dimension \(K\) disagrees: X .* K = 8, W .* K = 9"
    ):
        verify(op)


def test_matmul_result_dimension_named():
    x, w = values(tensor(4, 8), tensor(8, 2))
    op = MatmulOp.create(operands=[x, w], result_types=[tensor(4, 3)])
    with pytest.raises(VerifyException, match=r"columns \(N\) disagrees: W .* N = 2, Y .* N = 3"):
        verify(op)


def test_matmul_dx_and_dw_check_against_dy():
    dy, w, x = values(tensor(4, 2), tensor(8, 3), tensor(5, 8))
    dx = MatmulDxOp.create(operands=[dy, w], result_types=[tensor(4, 8)])
    with pytest.raises(VerifyException, match=r"columns \(N\) disagrees: dY .* N = 2, W .* N = 3"):
        verify(dx)
    dw = MatmulDwOp.create(operands=[x, dy], result_types=[tensor(8, 2)])
    with pytest.raises(VerifyException, match=r"rows \(M\) disagrees: X .* M = 5, dY .* M = 4"):
        verify(dw)


def test_element_types_must_agree_and_be_supported():
    x, w = values(tensor(4, 8), tensor(8, 2, element=f32))
    with pytest.raises(VerifyException, match="element types disagree: X is f16, W is f32"):
        verify(MatmulOp.create(operands=[x, w], result_types=[tensor(4, 2)]))
    x, w = values(tensor(4, 8, element=f64), tensor(8, 2, element=f64))
    with pytest.raises(VerifyException, match="element type f64 of X is not supported"):
        verify(MatmulOp.create(operands=[x, w], result_types=[tensor(4, 2, element=f64)]))


def test_rank_is_checked():
    x, w = values(tensor(2, 4, 8), tensor(8, 2))
    with pytest.raises(VerifyException, match=r"X must be a rank-2 tensor \(M x K\)"):
        verify(MatmulOp.create(operands=[x, w], result_types=[tensor(4, 2)]))


# ---- conv family ------------------------------------


STRIDED = ConvParams(stride=(2, 2), padding=(1, 1))


def test_conv_builders_and_verifiers_agree():
    x, w, dy = values(tensor(4, 64, 56, 56), tensor(128, 64, 3, 3), tensor(4, 128, 28, 28))
    y = Conv2DOp(x, w, STRIDED)
    assert y.y.type == tensor(4, 128, 28, 28)
    dx = Conv2DDxOp(dy, w, tensor(4, 64, 56, 56), STRIDED)
    dw = Conv2DDwOp(x, dy, tensor(128, 64, 3, 3), STRIDED)
    for op in (y, dx, dw):
        verify(op)
        assert op.conv_params == STRIDED


def test_conv_defaults_are_stored_and_reported():
    x, w = values(tensor(2, 8, 8, 8), tensor(16, 8, 1, 1))
    op = Conv2DOp(x, w)
    assert op.conv_params == ConvParams()
    assert op.stride == ArrayAttr([IntegerAttr(1, i64), IntegerAttr(1, i64)])
    assert op.groups == IntegerAttr(1, i64)


@pytest.mark.parametrize("height", [15, 16])
def test_conv2d_dx_accepts_every_input_size_that_gives_dy(height):
    dy, w = values(tensor(2, 16, 8, 8), tensor(16, 8, 3, 3))
    verify(Conv2DDxOp(dy, w, tensor(2, 8, height, 16), STRIDED))


@pytest.mark.parametrize("height", [13, 14, 17, 18])
def test_conv2d_dx_rejects_input_sizes_that_do_not(height):
    dy, w = values(tensor(2, 16, 8, 8), tensor(16, 8, 3, 3))
    op = Conv2DDxOp(dy, w, tensor(2, 8, height, 16), STRIDED)
    with pytest.raises(
        VerifyException, match=rf"output height \(OH\) disagrees: dX has H = {height}"
    ):
        verify(op)


def test_grouped_and_depthwise_convolutions():
    x, w = values(tensor(1, 8, 9, 9), tensor(12, 2, 3, 3))
    verify(Conv2DOp(x, w, ConvParams(padding=(1, 1), groups=4)))
    x, w = values(tensor(1, 8, 9, 9), tensor(8, 1, 3, 3))
    verify(Conv2DOp(x, w, ConvParams(padding=(1, 1), groups=8)))  # depthwise


def test_groups_must_divide_the_channels():
    x, w = values(tensor(1, 6, 8, 8), tensor(9, 3, 3, 3))
    op = Conv2DOp.create(
        operands=[x, w],
        result_types=[tensor(1, 9, 6, 6)],
        properties={"groups": IntegerAttr(3, i64)},
    )
    with pytest.raises(VerifyException, match=r"input channels \(C\) disagree: X has C = 6"):
        verify(op)
    x, w = values(tensor(1, 6, 8, 8), tensor(8, 2, 3, 3))
    op = Conv2DOp.create(
        operands=[x, w],
        result_types=[tensor(1, 8, 6, 6)],
        properties={"groups": IntegerAttr(3, i64)},
    )
    with pytest.raises(VerifyException, match="Cout = 8 are not divisible by groups = 3"):
        verify(op)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("stride", [0, 1], r"stride must be two positive integers \[height, width\], got \[0, 1\]"),
        ("padding", [-1, 0], r"padding must be two non-negative integers"),
        ("dilation", [1, 1, 1], r"dilation must be two positive integers .* got \[1, 1, 1\]"),
    ],
)
def test_conv_property_values_are_checked(name, value, message):
    x, w = values(tensor(1, 4, 8, 8), tensor(4, 4, 3, 3))
    array = ArrayAttr([IntegerAttr(v, i64) for v in value])
    op = Conv2DOp.create(
        operands=[x, w], result_types=[tensor(1, 4, 6, 6)], properties={name: array}
    )
    with pytest.raises(VerifyException, match=message):
        verify(op)


def test_kernel_that_does_not_fit():
    x, w = values(tensor(1, 4, 2, 2), tensor(4, 4, 5, 5))
    op = Conv2DOp.create(operands=[x, w], result_types=[tensor(1, 4, 1, 1)])
    with pytest.raises(VerifyException, match="the kernel does not fit"):
        verify(op)


# ---- interleaved ------------------------------------


def test_interleaved_matmul_and_conv():
    dy, x, w = values(tensor(4, 2), tensor(4, 8), tensor(8, 2))
    op = InterleavedOp(dy, x, w, "matmul")
    assert [r.type for r in op.results] == [tensor(4, 8), tensor(8, 2)]
    verify(op)
    dy, x, w = values(tensor(2, 16, 8, 8), tensor(2, 8, 16, 16), tensor(16, 8, 3, 3))
    verify(InterleavedOp(dy, x, w, "conv2d", STRIDED))


def test_interleaved_checks_both_gradients():
    dy, x, w = values(tensor(4, 2), tensor(4, 8), tensor(8, 2))
    bad_dw = InterleavedOp.create(
        operands=[dy, x, w],
        result_types=[tensor(4, 8), tensor(8, 3)],
        properties={"kind": StringAttr("matmul")},
    )
    with pytest.raises(VerifyException, match=r"columns \(N\) disagrees: dY .* dW"):
        verify(bad_dw)
    bad_dx = InterleavedOp.create(
        operands=[dy, x, w],
        result_types=[tensor(5, 8), tensor(8, 2)],
        properties={"kind": StringAttr("matmul")},
    )
    with pytest.raises(VerifyException, match=r"rows \(M\) disagrees: dY .* dX"):
        verify(bad_dx)


def test_interleaved_kind_and_its_properties():
    dy, x, w = values(tensor(4, 2), tensor(4, 8), tensor(8, 2))
    with pytest.raises(VerifyException, match="kind must be one of 'matmul', 'conv2d', got 'rnn'"):
        verify(InterleavedOp(dy, x, w, "rnn"))
    with pytest.raises(VerifyException, match='apply only to kind = "conv2d"'):
        verify(InterleavedOp(dy, x, w, "matmul", ConvParams(stride=(2, 2))))


# ---- verification memo ------------------------------------


def test_a_failing_signature_fails_every_time():
    """Signatures that passed are remembered; ones that failed are checked again."""
    x, w = values(tensor(4, 8), tensor(9, 2))
    for _ in range(3):
        with pytest.raises(VerifyException):
            verify(MatmulOp.create(operands=[x, w], result_types=[tensor(4, 2)]))


def test_a_passing_signature_does_not_excuse_a_different_one():
    x, w = values(tensor(4, 8), tensor(8, 2))
    verify(MatmulOp(x, w))
    op = MatmulOp.create(operands=[x, w], result_types=[tensor(4, 3)])
    with pytest.raises(VerifyException):
        verify(op)


@settings(max_examples=40)
@given(
    batch=st.integers(1, 3),
    cin=st.integers(1, 4),
    cout=st.integers(1, 4),
    size=st.integers(1, 12),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
)
def test_random_conv_layers_verify_iff_the_kernel_fits(
    batch, cin, cout, size, kernel, stride, padding, dilation
):
    params = ConvParams((stride, stride), (padding, padding), (dilation, dilation))
    x, w = values(tensor(batch, cin, size, size), tensor(cout, cin, kernel, kernel))
    out = conv_output_size(size, kernel, stride, padding, dilation)
    if out < 1:
        op = Conv2DOp.create(
            operands=[x, w], result_types=[tensor(batch, cout, 1, 1)], properties=properties(params)
        )
        with pytest.raises(VerifyException, match="the kernel does not fit"):
            verify(op)
        return
    forward = Conv2DOp(x, w, params)
    assert forward.y.type == tensor(batch, cout, out, out)
    (dy,) = values(forward.y.type)
    for op in (
        forward,
        Conv2DDxOp(dy, w, x.type, params),
        Conv2DDwOp(x, dy, w.type, params),
        InterleavedOp(dy, x, w, "conv2d", params),
    ):
        verify(op)


# ---- the uniform syntax through xDSL's own parser ------------------------------------


def test_xdsl_parser_reads_what_grad_ops_print():
    x, w, dy = (tensor(4, 8, 6, 6), tensor(4, 8, 3, 3), tensor(4, 4, 3, 3))
    block = Block(arg_types=[x, w, dy])
    bx, bw, bdy = block.args
    params = ConvParams(stride=(2, 2), padding=(1, 1))
    interleaved = InterleavedOp(bdy, bx, bw, "conv2d", params)
    interleaved.attributes["sched.gemm"] = GemmAttr.of(36, 4, 72, 1)
    block.add_ops([interleaved, func.ReturnOp(*interleaved.results)])
    module = ModuleOp([func.FuncOp("f", ([x, w, dy], [x, w]), Region(block))])
    module.verify()
    text = str(module)
    gemm = "sched.gemm = #sched.gemm<m = 36, n = 4, k = 72, groups = 1>"
    assert '{kind = "conv2d", stride = [2, 2], padding = [1, 1], ' + gemm + "}" in text
    ctx = Context()
    for dialect in (Builtin, func.Func, Grad, Sched):
        ctx.load_dialect(dialect)
    parsed = Parser(ctx, text).parse_module()
    parsed.verify()
    assert parsed.is_structurally_equivalent(module)
    assert str(parsed) == text
