"""The grad dialect: the tensor ops of a training step, forward and backward.

This is what users write. Every op works on builtin ``tensor<...>`` values with
``f16``, ``bf16`` or ``f32`` elements, all of one element type per op. Layouts are
PyTorch's (activations NCHW, conv weights ``(Cout, Cin, R, S)``) and matmul
follows the paper: ``Y = X·W`` with X (M×K) and W (K×N), so

    dX (M×K) = dY·Wᵀ      grad.matmul_dx %dy, %w
    dW (K×N) = Xᵀ·dY      grad.matmul_dw %x, %dy

Gradient ops take dY first for dX (``%dy, %w``) and the activation first for
dW (``%x, %dy``). ``grad.interleaved`` is the fused dX + dW op that fusion
creates: one op, two results.

Every op prints and parses in igoc's uniform form (``igoc.frontend.syntax``)::

    %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
        : (tensor<4x128x28x28xf16>, tensor<128x64x3x3xf16>) -> tensor<4x64x56x56xf16>

Ops accept extra (discardable) attributes, such as the ``sched.*`` annotations
of later passes, and keep them through printing and parsing.

Verifiers check every shape rule and name the dimension that disagrees. The
rules are data: each op names the role of each tensor it touches (``ROLES``),
each role has a layout of dimension letters (the ``_MATMUL`` and ``_CONV``
tables), a letter bound by the first tensor that holds it must agree in all the
others, and convolutions add the channel-group and output-size rules.
A pass that replaces an op copies the replaced op's ``location`` onto the new
one, so that diagnostics keep pointing at the user's source line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from igoc.dialects.sched import verify_op_attributes
from igoc.frontend.syntax import UniformFormat
from igoc.limits import LimitError, check_conv_param, check_shape
from igoc.schedule.layer import ConvParams, conv_output_size

ELEMENT_TYPES: tuple[Attribute, ...] = (f16, bf16, f32)
"""The element types grad ops accept."""

KINDS = ("matmul", "conv2d")
"""The layer kinds of ``grad.interleaved``."""

PLAIN_CONV = ConvParams()
"""Stride 1, no padding, no dilation, one group."""

# ---- shape rules ------------------------------------------------------------------------------

_MATMUL = {"X": "MK", "W": "KN", "Y": "MN", "dY": "MN", "dX": "MK", "dW": "KN"}
_CONV = {
    "X": ("N", "C", "H", "W"),
    "W": ("Cout", "Cin", "R", "S"),
    "Y": ("N", "Cout", "OH", "OW"),
    "dY": ("N", "Cout", "OH", "OW"),
    "dX": ("N", "C", "H", "W"),
    "dW": ("Cout", "Cin", "R", "S"),
}
_DIM_NAMES = {
    "M": "rows",
    "K": "inner dimension",
    "N": "columns",
    "C": "input channels",
    "H": "input height",
    "W": "input width",
    "Cout": "output channels",
    "Cin": "input channels per group",
    "R": "kernel height",
    "S": "kernel width",
    "OH": "output height",
    "OW": "output width",
}
_CONV_DIM_NAMES = _DIM_NAMES | {"N": "batch size"}


def _pair(values: Sequence[int]) -> ArrayAttr[IntegerAttr]:
    return ArrayAttr([IntegerAttr(v, i64) for v in values])


def _tensor_dims(role: str, value_type: Attribute, rank: int, layout: Sequence[str]) -> list[int]:
    if not isinstance(value_type, TensorType):
        raise VerifyException(f"{role} must be a tensor, got {value_type}")
    shape = list(value_type.get_shape())
    if len(shape) != rank:
        raise VerifyException(
            f"{role} must be a rank-{rank} tensor ({' x '.join(layout)}), got {value_type}"
        )
    if any(d < 0 for d in shape):
        raise VerifyException(
            f"{role} has a dynamic dimension ({value_type}); shapes must be static"
        )
    if any(d == 0 for d in shape):
        raise VerifyException(f"{role} has a zero-sized dimension ({value_type})")
    try:
        check_shape(role, shape)
    except LimitError as err:
        raise VerifyException(str(err)) from None
    return shape


def _check_element_types(tensors: Sequence[tuple[str, Attribute]]) -> None:
    first_role, first_type = tensors[0]
    first = first_type.get_element_type()  # type: ignore[attr-defined]
    if first not in ELEMENT_TYPES:
        raise VerifyException(
            f"element type {first} of {first_role} is not supported; use f16, bf16 or f32"
        )
    for role, value_type in tensors[1:]:
        element = value_type.get_element_type()  # type: ignore[attr-defined]
        if element != first:
            raise VerifyException(
                f"element types disagree: {first_role} is {first}, {role} is {element}"
            )


def _bind_dims(
    tensors: Sequence[tuple[str, Attribute]],
    layouts: dict[str, Sequence[str]],
    dim_names: dict[str, str],
) -> dict[str, int]:
    """Check that every dimension letter has one size across ``tensors``; return the sizes."""
    shapes = [
        (role, t, _tensor_dims(role, t, len(layouts[role]), layouts[role])) for role, t in tensors
    ]
    _check_element_types(tensors)
    sizes: dict[str, int] = {}
    source: dict[str, tuple[str, Attribute]] = {}
    for role, value_type, shape in shapes:
        for letter, size in zip(layouts[role], shape, strict=True):
            if letter not in sizes:
                sizes[letter] = size
                source[letter] = (role, value_type)
            elif sizes[letter] != size:
                first_role, first_type = source[letter]
                raise VerifyException(
                    f"{dim_names[letter]} ({letter}) disagrees: {first_role} ({first_type}) has "
                    f"{letter} = {sizes[letter]}, {role} ({value_type}) has {letter} = {size}"
                )
    return sizes


def check_matmul(tensors: Sequence[tuple[str, Attribute]]) -> dict[str, int]:
    """Check the matmul shape rules on ``(role, type)`` pairs; return M, N and K."""
    return _bind_dims(tensors, _MATMUL, _DIM_NAMES)  # type: ignore[arg-type]


def check_conv2d(tensors: Sequence[tuple[str, Attribute]], params: ConvParams) -> dict[str, int]:
    """Check the conv2d shape rules on ``(role, type)`` pairs; return every dimension's size."""
    sizes = _bind_dims(tensors, _CONV, _CONV_DIM_NAMES)
    roles = {letter: role for role, _ in reversed(tensors) for letter in _CONV[role]}
    groups = params.groups
    if sizes["C"] != groups * sizes["Cin"]:
        raise VerifyException(
            f"input channels (C) disagree: {roles['C']} has C = {sizes['C']}, but "
            f"{roles['Cin']} holds {sizes['Cin']} input channels per group x {groups} "
            f"group(s) = {groups * sizes['Cin']}"
        )
    if sizes["Cout"] % groups:
        raise VerifyException(
            f"output channels Cout = {sizes['Cout']} are not divisible by groups = {groups}"
        )
    for axis, (size, kernel, out) in enumerate((("H", "R", "OH"), ("W", "S", "OW"))):
        stride, padding, dilation = (
            params.stride[axis],
            params.padding[axis],
            params.dilation[axis],
        )
        expected = conv_output_size(sizes[size], sizes[kernel], stride, padding, dilation)
        rule = (
            f"{roles[size]} has {size} = {sizes[size]}; with {kernel} = {sizes[kernel]}, "
            f"stride {stride}, padding {padding}, dilation {dilation}"
        )
        if expected < 1:
            raise VerifyException(
                f"the kernel does not fit: {rule} the {_CONV_DIM_NAMES[out]} would be {expected}"
            )
        if expected != sizes[out]:
            raise VerifyException(
                f"{_CONV_DIM_NAMES[out]} ({out}) disagrees: {rule} that gives "
                f"{out} = {expected}, but {roles[out]} has {out} = {sizes[out]}"
            )
    return sizes


# ---- ops --------------------------------------------------------------------------------------

_SEEN_LIMIT = 65536

Frame = tuple[int, int, int, int]
"""M, N, K and groups of a layer op's GEMM frame."""


def _frames_remembered(op_class: type[GradOp]) -> type[GradOp]:
    """Check an op's shape rules once per signature (types and properties); remember its frame.

    A grad op's shape rules are a function of its operand types, result types and
    properties alone, and a model repeats the same layer shapes many times;
    remembering the signatures that passed makes verifying a large module several
    times faster. Signatures are keyed by the identity of their attribute objects
    (the front end shares equal ones), and the memo keeps those objects alive, so an
    identity is never reused while remembered.
    """
    check = op_class.check_shapes
    passed: dict[tuple[int, ...], tuple[tuple[Attribute, ...], Frame]] = {}

    def check_shapes(self: GradOp) -> Frame:
        parts = (*self.operand_types, *self.result_types, *self.properties.values())
        key = (*map(id, parts), *self.properties)
        found = passed.get(key)
        if found is not None:
            return found[1]
        frame = check(self)
        if len(passed) >= _SEEN_LIMIT:
            passed.clear()
        passed[key] = (parts, frame)
        return frame

    op_class.check_shapes = check_shapes  # type: ignore[method-assign]
    return op_class


def _matmul_frame(sizes: dict[str, int]) -> Frame:
    return (sizes["M"], sizes["N"], sizes["K"], 1)


def _conv_frame(sizes: dict[str, int], groups: int) -> Frame:
    rows = sizes["N"] * sizes["OH"] * sizes["OW"]
    return (rows, sizes["Cout"] // groups, sizes["Cin"] * sizes["R"] * sizes["S"], groups)


class GradOp(UniformFormat, IRDLOperation):
    """Base of every grad op: the uniform syntax, the roles of its tensors, what it computes.

    Its verifier checks the shape rules and then the ``sched.*`` attributes the
    passes put on it (``igoc.dialects.sched.verify_op_attributes``).
    """

    ROLES: ClassVar[tuple[str, ...]] = ()
    """Role of each operand, then of each result (``X``, ``W``, ``dY``, ...; see
    ``igoc.schedule.layer``)."""

    COMPUTATIONS: ClassVar[tuple[str, ...]] = ()
    """The GEMMs the op computes: ``fwd``, ``dx``, ``dw`` (``igoc.schedule.layer``)."""

    KIND: ClassVar[str] = ""
    """``matmul`` or ``conv2d`` (``grad.interleaved``: its ``kind`` property)."""

    @property
    def layer_kind(self) -> str:
        """The layer's kind: ``matmul`` or ``conv2d``."""
        return self.KIND

    def role_types(self) -> list[tuple[str, Attribute]]:
        """``(role, type)`` of every operand and result, in order."""
        types = [*self.operand_types, *self.result_types]
        if len(types) != len(self.ROLES):
            raise VerifyException(
                f"{self.name} takes {len(self.ROLES)} operands and results, got {len(types)}"
            )
        return list(zip(self.ROLES, types, strict=True))

    def check_shapes(self) -> Frame:
        """Check the shape rules; return the op's GEMM frame (M, N, K, groups)."""
        raise NotImplementedError

    def verify_(self) -> None:
        frame = self.check_shapes()
        verify_op_attributes(self, self.COMPUTATIONS, frame, self.layer_kind == "conv2d")


class MatmulBase(GradOp):
    """A matmul-family op: the shape rule is the table entry of each role."""

    KIND: ClassVar[str] = "matmul"
    traits = traits_def(Pure())

    def check_shapes(self) -> Frame:
        return _matmul_frame(check_matmul(self.role_types()))


@_frames_remembered
@irdl_op_definition
class MatmulOp(MatmulBase):
    """Forward matmul Y = X·W, X (M×K), W (K×N), Y (M×N).

    %y = grad.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16>
    """

    name = "grad.matmul"
    ROLES: ClassVar[tuple[str, ...]] = ("X", "W", "Y")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("fwd",)
    x = operand_def(TensorType)
    w = operand_def(TensorType)
    y = result_def(TensorType)

    def __init__(self, x: SSAValue, w: SSAValue):
        xt, wt = SSAValue.get(x).type, SSAValue.get(w).type
        shape = (xt.get_shape()[0], wt.get_shape()[1])  # type: ignore[attr-defined]
        out = TensorType(xt.get_element_type(), shape)  # type: ignore[attr-defined]
        super().__init__(operands=[x, w], result_types=[out])


@_frames_remembered
@irdl_op_definition
class MatmulDxOp(MatmulBase):
    """Input gradient dX = dY·Wᵀ, dY (M×N), W (K×N), dX (M×K).

    %dx = grad.matmul_dx %dy, %w : (tensor<64x512xf16>, tensor<256x512xf16>) -> tensor<64x256xf16>
    """

    name = "grad.matmul_dx"
    ROLES: ClassVar[tuple[str, ...]] = ("dY", "W", "dX")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("dx",)
    dy = operand_def(TensorType)
    w = operand_def(TensorType)
    dx = result_def(TensorType)

    def __init__(self, dy: SSAValue, w: SSAValue):
        dyt, wt = SSAValue.get(dy).type, SSAValue.get(w).type
        shape = (dyt.get_shape()[0], wt.get_shape()[0])  # type: ignore[attr-defined]
        out = TensorType(dyt.get_element_type(), shape)  # type: ignore[attr-defined]
        super().__init__(operands=[dy, w], result_types=[out])


@_frames_remembered
@irdl_op_definition
class MatmulDwOp(MatmulBase):
    """Weight gradient dW = Xᵀ·dY, X (M×K), dY (M×N), dW (K×N).

    %dw = grad.matmul_dw %x, %dy : (tensor<64x256xf16>, tensor<64x512xf16>) -> tensor<256x512xf16>
    """

    name = "grad.matmul_dw"
    ROLES: ClassVar[tuple[str, ...]] = ("X", "dY", "dW")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("dw",)
    x = operand_def(TensorType)
    dy = operand_def(TensorType)
    dw = result_def(TensorType)

    def __init__(self, x: SSAValue, dy: SSAValue):
        xt, dyt = SSAValue.get(x).type, SSAValue.get(dy).type
        shape = (xt.get_shape()[1], dyt.get_shape()[1])  # type: ignore[attr-defined]
        out = TensorType(xt.get_element_type(), shape)  # type: ignore[attr-defined]
        super().__init__(operands=[x, dy], result_types=[out])


def _conv_properties(params: ConvParams) -> dict[str, Attribute]:
    return {
        "stride": _pair(params.stride),
        "padding": _pair(params.padding),
        "dilation": _pair(params.dilation),
        "groups": IntegerAttr(params.groups, i64),
    }


class ConvBase(GradOp):
    """A conv2d-family op: stride, padding, dilation (two values each) and groups."""

    stride = prop_def(ArrayAttr[IntegerAttr[I64]], default_value=_pair((1, 1)))
    padding = prop_def(ArrayAttr[IntegerAttr[I64]], default_value=_pair((0, 0)))
    dilation = prop_def(ArrayAttr[IntegerAttr[I64]], default_value=_pair((1, 1)))
    groups = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, i64))
    KIND: ClassVar[str] = "conv2d"
    traits = traits_def(Pure())

    @property
    def conv_params(self) -> ConvParams:
        """The convolution's parameters as plain integers (call after verification)."""
        return ConvParams(
            stride=_ints(self.stride),  # type: ignore[arg-type]
            padding=_ints(self.padding),  # type: ignore[arg-type]
            dilation=_ints(self.dilation),  # type: ignore[arg-type]
            groups=self.groups.value.data,
        )

    def verify_conv_params(self) -> ConvParams:
        """Check the property values; return them as a :class:`ConvParams`."""
        for name, low in (("stride", 1), ("padding", 0), ("dilation", 1)):
            values = _ints(getattr(self, name))
            if len(values) != 2 or min(values) < low:
                kind = "positive" if low else "non-negative"
                raise VerifyException(
                    f"{name} must be two {kind} integers [height, width], got "
                    f"[{', '.join(map(str, values))}]"
                )
        if self.groups.value.data < 1:
            raise VerifyException(f"groups must be positive, got {self.groups.value.data}")
        try:
            for name in ("stride", "padding", "dilation"):
                check_conv_param(name, _ints(getattr(self, name)))
            check_conv_param("groups", [self.groups.value.data])
        except LimitError as err:
            raise VerifyException(str(err)) from None
        return self.conv_params

    def check_shapes(self) -> Frame:
        params = self.verify_conv_params()
        return _conv_frame(check_conv2d(self.role_types(), params), params.groups)


def _ints(attr: ArrayAttr[IntegerAttr]) -> tuple[int, ...]:
    return tuple(element.value.data for element in attr.data)


@_frames_remembered
@irdl_op_definition
class Conv2DOp(ConvBase):
    """Forward conv Y = conv(X, W), X (N,C,H,W), W (Cout,C/groups,R,S), Y (N,Cout,OH,OW).

    %y = grad.conv2d %x, %w {padding = [1, 1]}
        : (tensor<2x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<2x16x16x16xf16>
    """

    name = "grad.conv2d"
    ROLES: ClassVar[tuple[str, ...]] = ("X", "W", "Y")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("fwd",)
    x = operand_def(TensorType)
    w = operand_def(TensorType)
    y = result_def(TensorType)

    def __init__(self, x: SSAValue, w: SSAValue, params: ConvParams = PLAIN_CONV):
        xt, wt = SSAValue.get(x).type, SSAValue.get(w).type
        n, _, h, width = xt.get_shape()  # type: ignore[attr-defined]
        cout, _, r, s = wt.get_shape()  # type: ignore[attr-defined]
        out = TensorType(xt.get_element_type(), (n, cout, *params.output_hw(h, width, r, s)))  # type: ignore[attr-defined]
        super().__init__(operands=[x, w], result_types=[out], properties=_conv_properties(params))


@_frames_remembered
@irdl_op_definition
class Conv2DDxOp(ConvBase):
    """Input gradient of a conv: dY (N,Cout,OH,OW), W (Cout,C/groups,R,S) -> dX (N,C,H,W).

    With stride > 1 several input sizes give the same output size, so the
    result type names H and W; the verifier checks that they produce dY's size.

        %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
            : (tensor<4x128x28x28xf16>, tensor<128x64x3x3xf16>) -> tensor<4x64x56x56xf16>
    """

    name = "grad.conv2d_dx"
    ROLES: ClassVar[tuple[str, ...]] = ("dY", "W", "dX")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("dx",)
    dy = operand_def(TensorType)
    w = operand_def(TensorType)
    dx = result_def(TensorType)

    def __init__(
        self, dy: SSAValue, w: SSAValue, result_type: Attribute, params: ConvParams = PLAIN_CONV
    ):
        super().__init__(
            operands=[dy, w], result_types=[result_type], properties=_conv_properties(params)
        )


@_frames_remembered
@irdl_op_definition
class Conv2DDwOp(ConvBase):
    """Weight gradient of a conv: X (N,C,H,W), dY (N,Cout,OH,OW) -> dW (Cout,C/groups,R,S).

    %dw = grad.conv2d_dw %x, %dy {stride = [2, 2], padding = [1, 1]}
        : (tensor<4x64x56x56xf16>, tensor<4x128x28x28xf16>) -> tensor<128x64x3x3xf16>
    """

    name = "grad.conv2d_dw"
    ROLES: ClassVar[tuple[str, ...]] = ("X", "dY", "dW")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("dw",)
    x = operand_def(TensorType)
    dy = operand_def(TensorType)
    dw = result_def(TensorType)

    def __init__(
        self, x: SSAValue, dy: SSAValue, result_type: Attribute, params: ConvParams = PLAIN_CONV
    ):
        super().__init__(
            operands=[x, dy], result_types=[result_type], properties=_conv_properties(params)
        )


@_frames_remembered
@irdl_op_definition
class InterleavedOp(ConvBase):
    """dX and dW of one layer in one op, so that each dY tile serves both (made by fusion).

    ``kind`` says which layer (``"matmul"`` or ``"conv2d"``); the conv
    properties apply to ``"conv2d"`` only. Both gradients' shape rules hold.

        %dx, %dw = grad.interleaved %dy, %x, %w {kind = "matmul"}
            : (tensor<64x512xf16>, tensor<64x256xf16>, tensor<256x512xf16>)
            -> (tensor<64x256xf16>, tensor<256x512xf16>)
    """

    name = "grad.interleaved"
    ROLES: ClassVar[tuple[str, ...]] = ("dY", "X", "W", "dX", "dW")
    COMPUTATIONS: ClassVar[tuple[str, ...]] = ("dx", "dw")
    kind = prop_def(StringAttr)
    dy = operand_def(TensorType)
    x = operand_def(TensorType)
    w = operand_def(TensorType)
    dx = result_def(TensorType)
    dw = result_def(TensorType)

    def __init__(
        self, dy: SSAValue, x: SSAValue, w: SSAValue, kind: str, params: ConvParams = PLAIN_CONV
    ):
        properties = {"kind": StringAttr(kind), **_conv_properties(params)}
        super().__init__(
            operands=[dy, x, w],
            result_types=[SSAValue.get(x).type, SSAValue.get(w).type],
            properties=properties,
        )

    @property
    def layer_kind(self) -> str:
        """The layer's kind: the ``kind`` property."""
        return self.kind.data

    def check_shapes(self) -> Frame:
        kind = self.kind.data
        if kind not in KINDS:
            raise VerifyException(
                f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}"
            )
        params = self.verify_conv_params()
        tensors = self.role_types()
        if kind == "conv2d":
            return _conv_frame(check_conv2d(tensors, params), params.groups)
        if params != PLAIN_CONV:
            raise VerifyException(
                'stride, padding, dilation and groups apply only to kind = "conv2d"'
            )
        return _matmul_frame(check_matmul(tensors))


Grad = Dialect(
    "grad",
    [
        MatmulOp,
        MatmulDxOp,
        MatmulDwOp,
        Conv2DOp,
        Conv2DDxOp,
        Conv2DDwOp,
        InterleavedOp,
    ],
    [],
)
