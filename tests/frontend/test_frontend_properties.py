"""Properties of the front end, over random programs and random damage.

- print -> parse is the identity, in the custom and in the generic form;
- a damaged program gives a module or a diagnostic, never any other exception.
"""

import math
import pathlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    bf16,
    f16,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.ir import Block, Region

from igoc.dialects.grad import (
    Conv2DDwOp,
    Conv2DDxOp,
    Conv2DOp,
    ConvParams,
    InterleavedOp,
    MatmulDwOp,
    MatmulDxOp,
    MatmulOp,
)
from igoc.frontend import DiagnosticError, parse_text, print_module
from igoc.frontend.parser import decode_source

ROOT = pathlib.Path(__file__).resolve().parents[2]

# ---- random attributes ---------------------------------------------------------------------------

names = st.text(string.ascii_letters + "_", min_size=1, max_size=6).map(lambda s: "note." + s)
keys = st.text(string.ascii_letters + string.digits + "_ .-", min_size=1, max_size=6)
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda v: IntegerAttr(v, i64)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: IntegerAttr(v, i32)),
    st.floats(allow_nan=False).map(lambda v: FloatAttr(v, f64)),
    st.floats(allow_nan=False, width=32).map(lambda v: FloatAttr(v, f32)),
    texts.map(StringAttr),
    st.booleans().map(lambda v: BoolAttr(v, IntegerType(1))),
    st.just(UnitAttr()),
    st.lists(st.integers(-1000, 1000), max_size=4).map(lambda v: DenseArrayBase.from_list(i64, v)),
    st.sampled_from([TensorType(f32, [2, 3]), i32, f16]),
)
attributes = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(ArrayAttr),
        st.dictionaries(keys, inner, max_size=3).map(DictionaryAttr),
    ),
    max_leaves=6,
)
annotations = st.dictionaries(names, attributes, max_size=3)
value_names = st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True))


# ---- random programs -----------------------------------------------------------------------------


@st.composite
def layers(draw):
    """One layer as a function: its arguments, some of its grad ops, its results returned."""
    element = draw(st.sampled_from([f16, bf16, f32]))
    chosen = draw(st.sets(st.sampled_from(["forward", "dx", "dw", "interleaved"]), min_size=1))
    if draw(st.booleans()):
        m, k, n = (draw(st.integers(1, 16)) for _ in range(3))
        types = [TensorType(element, s) for s in ((m, k), (k, n), (m, n))]
        params = None
    else:
        groups = draw(st.sampled_from([1, 2]))
        cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
        r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        params = ConvParams(
            (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
            (draw(st.integers(0, 1)), draw(st.integers(0, 1))),
            (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
            groups,
        )
        h = draw(st.integers(params.dilation[0] * (r - 1) + 1, 10))
        w = draw(st.integers(params.dilation[1] * (s - 1) + 1, 10))
        oh, ow = params.output_hw(h, w, r, s)
        batch = draw(st.integers(1, 2))
        types = [
            TensorType(element, shape)
            for shape in ((batch, cin, h, w), (cout, cin // groups, r, s), (batch, cout, oh, ow))
        ]
    block = Block(arg_types=types)
    x, weight, dy = block.args
    for arg in block.args:
        arg.name_hint = draw(value_names)
    ops = []
    if params is None:
        makers = {
            "forward": lambda: MatmulOp(x, weight),
            "dx": lambda: MatmulDxOp(dy, weight),
            "dw": lambda: MatmulDwOp(x, dy),
            "interleaved": lambda: InterleavedOp(dy, x, weight, "matmul"),
        }
    else:
        makers = {
            "forward": lambda: Conv2DOp(x, weight, params),
            "dx": lambda: Conv2DDxOp(dy, weight, x.type, params),
            "dw": lambda: Conv2DDwOp(x, dy, weight.type, params),
            "interleaved": lambda: InterleavedOp(dy, x, weight, "conv2d", params),
        }
    for kind in sorted(chosen):
        op = makers[kind]()
        op.attributes.update(draw(annotations))
        for result in op.results:
            result.name_hint = draw(value_names)
        ops.append(op)
    results = [result for op in ops for result in op.results]
    block.add_ops([*ops, func.ReturnOp(*results)])
    return block, [r.type for r in results]


@st.composite
def programs(draw):
    functions = []
    for index, (block, result_types) in enumerate(draw(st.lists(layers(), min_size=1, max_size=3))):
        signature = (list(block.arg_types), result_types)
        functions.append(func.FuncOp(f"layer{index}", signature, Region(block)))
    module = ModuleOp(functions)
    module.attributes.update(draw(st.dictionaries(names, attributes, max_size=2)))
    module.verify()
    return module


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_print_then_parse_is_the_identity(module):
    for generic in (False, True):
        text = print_module(module, generic)
        parsed = parse_text(text)
        assert parsed.is_structurally_equivalent(module)
        assert print_module(parsed, generic) == text


@settings(max_examples=20)
@given(programs(), st.integers(0, 2**63 - 1))
def test_equality_notices_a_changed_attribute(module, value):
    """The round-trip check above can fail: a changed attribute makes modules differ."""
    parsed = parse_text(print_module(module))
    function = next(iter(parsed.ops))
    before = dict(function.attributes)
    function.attributes["note.changed"] = IntegerAttr(value, i64)
    assert not parsed.is_structurally_equivalent(module)
    function.attributes.clear()
    function.attributes.update(before)
    assert parsed.is_structurally_equivalent(module)


def test_floats_print_exactly():
    for value in (0.1, 1e20, -2.5e-7, 1 / 3, math.pi, 5e-324, float("inf")):
        module = ModuleOp([])
        module.attributes["note.v"] = FloatAttr(value, f64)
        parsed = parse_text(print_module(module))
        assert parsed.attributes["note.v"] == FloatAttr(value, f64)


# ---- random damage -------------------------------------------------------------------------------

SEEDS = [p.read_text() for p in sorted((ROOT / "samples" / "basics").glob("*.mlir"))] + [
    (ROOT / "tests" / "filecheck" / "frontend" / "syntax.mlir").read_text()
]
PIECES = [
    "{", "}", "(", ")", "[", "]", "<", ">", ",", ":", "=", "->", "%", "%x", "%dy#3", "^bb0:",
    "@f", '"', '"s"', "tensor<", "tensor<4x?xf16>", "tensor<2xq8>", "grad.matmul", "grad.nope",
    '"grad.conv2d"', "func.func", "func.return", "module", "attributes", "array<i64: 1>",
    "0x7FF", "-", "1.5e", "99999999999999999999", "// ", "\n", "\t", "\x00", "é", "\\", "unit",
]  # fmt: skip


@st.composite
def damaged(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        piece = draw(st.one_of(st.sampled_from(PIECES), texts))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + piece + text[start:]
        elif action == "replace":
            text = text[:start] + piece + text[end:]
        elif action == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            text = text[:start]
    return text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_programs_give_a_module_or_a_diagnostic(text):
    try:
        module = parse_text(text, "damaged.mlir")
    except DiagnosticError as err:
        assert err.message
        rendered = err.render(text)
        assert rendered.startswith(("damaged.mlir:", "error:"))
        return
    printed = print_module(module)
    assert print_module(parse_text(printed)) == printed


@settings(max_examples=100)
@given(st.binary(max_size=200))
def test_random_bytes_give_a_module_or_a_diagnostic(data):
    try:
        parse_text(decode_source(data, "bytes.mlir"), "bytes.mlir")
    except DiagnosticError as err:
        assert err.message
