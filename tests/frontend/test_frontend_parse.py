"""The front end: what it reads, what it builds, where it says things are."""

import io
import itertools
import pathlib
import re
import sys

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    FileLineColLoc,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    f16,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.ir import Block, Region

from igoc import pipeline
from igoc.api import compile_text
from igoc.dialects.grad import InterleavedOp, MatmulOp
from igoc.dialects.names import set_name
from igoc.frontend import DiagnosticError, error_at, parse_file, parse_text, print_module

ROOT = pathlib.Path(__file__).resolve().parents[2]

LINEAR = """\
// a comment
func.func @fc(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<4x2xf16> {
  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>
  func.return %y : tensor<4x2xf16>
}
"""


def ops(module: ModuleOp) -> list:
    return [op for op in module.walk() if op is not module]


def note_attributes(text: str) -> dict:
    """The attributes of the one grad.matmul in a function whose attr-dict is ``text``."""
    module = parse_text(
        "func.func @f(%x: tensor<4x8xf16>, %w: tensor<8x2xf16>) -> tensor<4x2xf16> {\n"
        f"  %y = grad.matmul %x, %w {text}\n"
        "      : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>\n"
        "  func.return %y : tensor<4x2xf16>\n}\n"
    )
    (op,) = [op for op in module.walk() if isinstance(op, MatmulOp)]
    return dict(op.attributes)


# ---- structure -----------------------------------------------------------------------------------


def test_functions_at_top_level_are_wrapped_in_a_module():
    module = parse_text(LINEAR, "fc.mlir")
    (function,) = module.ops
    assert isinstance(function, func.FuncOp)
    assert function.sym_name.data == "fc"
    assert [type(op) for op in function.body.block.ops] == [MatmulOp, func.ReturnOp]


def test_an_explicit_module_is_the_module():
    module = parse_text("module @m attributes {igoc.note = 1} {\n" + LINEAR + "}\n")
    assert module.sym_name == StringAttr("m")
    assert module.attributes["igoc.note"] == IntegerAttr(1, i64)
    assert isinstance(next(iter(module.ops)), func.FuncOp)


def test_every_op_carries_the_location_of_its_statement():
    module = parse_text(LINEAR, "fc.mlir")
    locations = {op.name: op.location for op in ops(module)}
    assert locations["func.func"] == FileLineColLoc(StringAttr("fc.mlir"), *_ints(2, 1))
    assert locations["grad.matmul"] == FileLineColLoc(StringAttr("fc.mlir"), *_ints(3, 3))
    assert locations["func.return"] == FileLineColLoc(StringAttr("fc.mlir"), *_ints(4, 3))


def _ints(*values):
    from xdsl.dialects.builtin import IntAttr

    return [IntAttr(v) for v in values]


def test_value_names_become_name_hints():
    module = parse_text(LINEAR)
    function = next(iter(module.ops))
    assert [arg.name_hint for arg in function.body.block.args] == ["x", "w"]
    matmul = next(iter(function.body.block.ops))
    assert matmul.results[0].name_hint == "y"


def test_numbered_values_get_no_hint():
    module = parse_text(
        "func.func @f(%0: tensor<4x8xf16>) -> tensor<4x8xf16> {\n"
        "  func.return %0 : tensor<4x8xf16>\n}\n"
    )
    assert next(iter(module.ops)).body.block.args[0].name_hint is None


def test_names_keep_a_numbered_suffix():
    """``%dy_2`` is ``dy_2`` (xDSL's setter would make it ``dy``): in the IR, in its
    text, through fuse-gradients' new values and in the program's DRAM tensors."""
    text = (ROOT / "samples/basics/linear.mlir").read_text()
    text = text.replace("%dy", "%dy_2").replace("%dx", "%dx_1").replace("%dw", "%dw_0")
    module = parse_text(text)
    assert [arg.name_hint for arg in next(iter(module.ops)).body.block.args] == ["x", "w", "dy_2"]
    printed = print_module(module)
    assert "%dx_1 = grad.matmul_dx %dy_2, %w" in printed
    assert print_module(parse_text(printed)) == printed
    pipeline.run(module, pipeline.parse_spec("fuse-gradients"))
    (fused,) = [op for op in module.walk() if isinstance(op, InterleavedOp)]
    assert [result.name_hint for result in fused.results] == ["dx_1", "dw_0"]
    names = {tensor.name for tensor in compile_text(text, "edge").tensors}
    assert {"x", "w", "dy_2", "dx_1", "dw_0"} <= names


def test_colliding_names_print_apart_and_read_back_the_same():
    """Values named alike (by passes, or by hand) print as distinct names, numbered
    past every name already printed, and that text reads back and prints the same."""
    pool = ["a", "a_1", "a_0_0", "b", None]
    for hints in itertools.product(pool, repeat=4):
        types = [TensorType(f32, shape) for shape in ((2, 3), (3, 4), (2, 4))]
        block = Block(arg_types=types)
        for arg, hint in zip(block.args, hints, strict=False):
            set_name(arg, hint)
        matmul = MatmulOp(block.args[0], block.args[1])
        set_name(matmul.results[0], hints[3])
        block.add_ops([matmul, func.ReturnOp(matmul.results[0])])
        signature = (types, [matmul.results[0].type])
        module = ModuleOp([func.FuncOp("f", signature, Region(block))])
        for generic in (False, True):
            text = print_module(module, generic)
            defined = re.findall(r"%([\w$.-]+)(?=: tensor| = )", text)  # args, then result
            assert len(set(defined)) == 4, text
            for name, hint in zip(defined, hints, strict=True):
                if hint is None:
                    assert name.isdigit(), text
                else:
                    assert name == hint or name.startswith(f"{hint}_"), text
            assert print_module(parse_text(text), generic) == text


def test_invalid_names_are_refused():
    (arg,) = Block(arg_types=[f32]).args
    with pytest.raises(ValueError, match="name format"):
        set_name(arg, "1x")
    set_name(arg, "x_1")
    assert arg.name_hint == "x_1"
    set_name(arg, None)
    assert arg.name_hint is None


def test_result_groups_and_indices():
    module = parse_text(
        "func.func @f(%dy: tensor<4x2xf16>, %x: tensor<4x8xf16>, %w: tensor<8x2xf16>)"
        " -> (tensor<8x2xf16>, tensor<4x8xf16>) {\n"
        '  %r:2 = grad.interleaved %dy, %x, %w {kind = "matmul"}\n'
        "      : (tensor<4x2xf16>, tensor<4x8xf16>, tensor<8x2xf16>)\n"
        "      -> (tensor<4x8xf16>, tensor<8x2xf16>)\n"
        "  func.return %r#1, %r : tensor<8x2xf16>, tensor<4x8xf16>\n}\n"
    )
    interleaved = next(op for op in module.walk() if isinstance(op, InterleavedOp))
    ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
    assert list(ret.operands) == [interleaved.results[1], interleaved.results[0]]


def test_properties_are_split_from_discardable_attributes():
    module = parse_text(
        "func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32> {\n"
        "  %y = grad.conv2d %x, %w {stride = [2, 2], padding = [1 : i64, 1 : i64], note.k = 1}\n"
        "      : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>\n"
        "  func.return %y : tensor<1x4x4x4xf32>\n}\n"
    )
    conv = next(op for op in module.walk() if op.name == "grad.conv2d")
    assert conv.conv_params.stride == (2, 2) and conv.conv_params.padding == (1, 1)
    assert set(conv.attributes) == {"note.k"}
    assert "stride" not in conv.attributes


# ---- attributes and types ------------------------------------------------------------------------


def test_every_kind_of_attribute_value():
    attributes = note_attributes(
        "{note.i = -3, note.i32 = 7 : i32, note.idx = 4 : index, note.f = 0.25, "
        'note.f32 = 1.5 : f32, note.inf = 0x7FF0000000000000 : f64, note.s = "a\\22b\\n", '
        'note.t = true, note.u, note.arr = [1, [2.5, "x"]], note.d = {k = unit}, '
        "note.dense = array<i64: 1, -2>, note.ty = tensor<2xf32>, note.fn = (i32) -> (f32, f64)}"
    )
    assert attributes == {
        "note.i": IntegerAttr(-3, i64),
        "note.i32": IntegerAttr(7, i32),
        "note.idx": IntegerAttr(4, IndexType()),
        "note.f": FloatAttr(0.25, f64),
        "note.f32": FloatAttr(1.5, f32),
        "note.inf": FloatAttr(float("inf"), f64),
        "note.s": StringAttr('a"b\n'),
        "note.t": IntegerAttr(1, IntegerType(1)),
        "note.u": UnitAttr(),
        "note.arr": ArrayAttr(
            [IntegerAttr(1, i64), ArrayAttr([FloatAttr(2.5, f64), StringAttr("x")])]
        ),
        "note.d": DictionaryAttr({"k": UnitAttr()}),
        "note.dense": DenseArrayBase.from_list(i64, [1, -2]),
        "note.ty": TensorType(f32, [2]),
        "note.fn": FunctionType.from_lists([i32], [f32, f64]),
    }


def test_strings_decode_escapes_as_utf8_bytes():
    attributes = note_attributes('{note.s = "caf\\C3\\A9 \\\\ \\t é"}')
    assert attributes["note.s"] == StringAttr("café \\ \t é")


def test_lists_that_are_not_all_integers_still_parse():
    attributes = note_attributes('{note.a = [1, "two"], note.b = [ 1 ,2 ], note.c = [-1]}')
    assert attributes["note.a"] == ArrayAttr([IntegerAttr(1, i64), StringAttr("two")])
    assert attributes["note.b"] == ArrayAttr([IntegerAttr(1, i64), IntegerAttr(2, i64)])
    assert attributes["note.c"] == ArrayAttr([IntegerAttr(-1, i64)])


def test_keywords_are_names_where_a_name_is_expected():
    module = parse_text(
        "func.func @f() attributes {index = 1, private = 2, true = 3, func.func = 4} {\n"
        "  func.return\n}\n"
    )
    function = next(iter(module.ops))
    assert set(function.attributes) == {"index", "private", "true", "func.func"}


def test_declarations_with_unnamed_arguments():
    module = parse_text(
        "func.func private @ext(tensor<2xf32>, tensor<3xf16>) -> (tensor<2xf32>, i32)\n"
    )
    function = next(iter(module.ops))
    assert function.function_type == FunctionType.from_lists(
        [TensorType(f32, [2]), TensorType(f16, [3])], [TensorType(f32, [2]), i32]
    )
    assert function.sym_visibility == StringAttr("private")
    assert not function.body.blocks


def test_generic_form_of_functions_and_modules():
    text = print_module(parse_text(LINEAR), generic=True)
    assert text.startswith('"builtin.module"() ({')
    module = parse_text(text)
    assert module.is_structurally_equivalent(parse_text(LINEAR))


# ---- diagnostics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("func.func @f() {\n  func.return\n", (2, 14), "unexpected end of the input"),
        ("func.func @f() {\n  func.return $\n}\n", (2, 15), "unexpected character '$'"),
        ("func.func @f(%x: tensor<2xf16>) {\n  func.return %y : tensor<2xf16>\n}\n", (2, 15), "%y"),
        ('func.func @f() {\n  "grad.bogus"() : () -> ()\n  func.return\n}\n', (2, 3), "grad.bogus"),
        ("   \n// only a comment\n", (1, 1), "holds no operations"),
    ],
)
def test_diagnostics_have_locations(text, location, message):
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text, "in.mlir")
    assert caught.value.location == ("in.mlir", *location)
    assert message in caught.value.message


def test_verifier_errors_point_at_the_op():
    # dW = Xᵀ·dY needs X (M x K) and dY (M x N) with one M; 4 and 8 differ.
    text = LINEAR.replace("%y = grad.matmul %x, %w", "%y = grad.matmul_dw %x, %w")
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text, "in.mlir")
    assert caught.value.location == ("in.mlir", 3, 3)
    assert caught.value.message.startswith("'grad.matmul_dw' op rows (M) disagrees")


def test_error_at_points_passes_at_the_users_line():
    module = parse_text(LINEAR, "fc.mlir")
    matmul = next(op for op in module.walk() if isinstance(op, MatmulOp))
    error = error_at(matmul, "this layer needs 9.2 MiB of SPM; the target has 8 MiB")
    assert error.render(LINEAR).splitlines() == [
        "fc.mlir:3:3: error: this layer needs 9.2 MiB of SPM; the target has 8 MiB",
        "  %y = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>",
        "  ^",
    ]


# ---- files ---------------------------------------------------------------------------------------


def test_parse_file_reads_files_and_stdin(tmp_path, monkeypatch):
    path = tmp_path / "fc.mlir"
    path.write_text(LINEAR)
    from_file = parse_file(str(path))
    assert next(from_file.walk()).location is not None
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(LINEAR.encode())))
    from_stdin = parse_file("-")
    assert from_stdin.is_structurally_equivalent(from_file)
    matmul = next(op for op in from_stdin.walk() if isinstance(op, MatmulOp))
    assert matmul.location.filename == StringAttr("<stdin>")


@pytest.mark.parametrize(
    ("content", "message", "location"),
    [
        (None, "no such file", None),
        ("dir", "it is a directory", None),
        (b"func.func @f() {\n  func.return\n}\n\xff\xfe", "not UTF-8 text (byte 0xff)", (4, 1)),
        (b"\x00\x01\x02binary", "NUL character", (1, 1)),
        (b"", "holds no operations", (1, 1)),
        (b"func.func @f(%x: tensor<4x", "a tensor type ends with '>'", (1, 18)),
    ],
)
def test_bad_files_give_one_diagnostic(tmp_path, content, message, location):
    path = tmp_path / "in.mlir"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(DiagnosticError) as caught:
        parse_file(str(path))
    assert message in caught.value.message
    if location is None:
        assert caught.value.location is None
        assert str(path) in caught.value.message
    else:
        assert caught.value.location == (str(path), *location)
