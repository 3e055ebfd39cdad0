"""Generic ops with regions, blocks and successors, through a dialect registered for the test.

The registry of dialects is one table; a dialect added to it (here ``testnpu``) is
parsed in the generic form, or in the uniform form if its ops take it.
"""

import re

import pytest
from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, TensorType, f16
from xdsl.ir import Dialect
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    successor_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, IsTerminator, NoTerminator

from igoc.frontend import DiagnosticError, parse_text, print_module, registry
from igoc.frontend.syntax import UniformFormat


@irdl_op_definition
class CoreOp(IRDLOperation):
    """A region per core; sees the values around it."""

    name = "testnpu.core"
    core = prop_def(IntegerAttr[I64])
    body = region_def()
    traits = traits_def(NoTerminator())


@irdl_op_definition
class KernelOp(IRDLOperation):
    """An isolated region."""

    name = "testnpu.kernel"
    body = region_def()
    traits = traits_def(NoTerminator(), IsolatedFromAbove())


@irdl_op_definition
class BranchOp(IRDLOperation):
    name = "testnpu.br"
    target = successor_def()
    traits = traits_def(IsTerminator())


@irdl_op_definition
class StopOp(IRDLOperation):
    name = "testnpu.stop"
    traits = traits_def(IsTerminator())


@irdl_op_definition
class LoopOp(IRDLOperation):
    """Blocks that branch to each other."""

    name = "testnpu.loop"
    body = region_def()


@irdl_op_definition
class SumOp(UniformFormat, IRDLOperation):
    """Any number of operands, in the uniform form."""

    name = "testnpu.sum"
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)


@irdl_op_definition
class UseOp(IRDLOperation):
    name = "testnpu.use"
    value = operand_def()


TestNpu = Dialect("testnpu", [CoreOp, KernelOp, BranchOp, StopOp, LoopOp, SumOp, UseOp])


@pytest.fixture(autouse=True)
def testnpu_dialect(monkeypatch):
    monkeypatch.setitem(registry.DIALECTS, "testnpu", f"{__name__}:TestNpu")


PROGRAM = """\
func.func @f(%x: tensor<2xf16>) -> tensor<2xf16> {
  "testnpu.core"() ({
  ^bb0(%i: index):
    "testnpu.use"(%x) : (tensor<2xf16>) -> ()
    "testnpu.use"(%i) : (index) -> ()
  }) {core = 0 : i64} : () -> ()
  "testnpu.core"() <{core = 1}> ({
    "testnpu.use"(%x) : (tensor<2xf16>) -> ()
  }) : () -> ()
  "testnpu.loop"() ({
    "testnpu.br"() [^next] : () -> ()
  ^next:
    "testnpu.br"() [^bb7] : () -> ()
  ^bb7(%k: index):
    "testnpu.stop"() : () -> ()
  }) : () -> ()
  %s = testnpu.sum %x, %x, %x : (tensor<2xf16>, tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
  func.return %s : tensor<2xf16>
}
"""


def test_regions_blocks_and_successors_round_trip():
    module = parse_text(PROGRAM)
    cores = [op for op in module.walk() if isinstance(op, CoreOp)]
    assert [core.core.value.data for core in cores] == [0, 1]
    entry = cores[0].body.block
    assert [arg.type for arg in entry.args] == [IndexType()]
    loop = next(op for op in module.walk() if isinstance(op, LoopOp))
    first, second, third = loop.body.blocks
    assert first.last_op.target is second
    assert second.last_op.target is third
    assert third.args[0].type == IndexType()
    text = print_module(module)
    assert "testnpu.sum %x, %x, %x : (" in text  # uniform form
    assert '"testnpu.core"() <{core = 0 : i64}> ({' in text  # generic form
    for form in (text, print_module(module, generic=True)):
        again = parse_text(form)
        assert again.is_structurally_equivalent(module)
        assert print_module(again) == text


def test_an_isolated_region_sees_no_outer_values():
    text = """\
func.func @f(%x: tensor<2xf16>) {
  "testnpu.kernel"() ({
    "testnpu.use"(%x) : (tensor<2xf16>) -> ()
  }) : () -> ()
  func.return
}
"""
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text, "k.mlir")
    assert caught.value.location == ("k.mlir", 3, 19)
    assert "defined outside this isolated region" in caught.value.message


def test_values_of_a_region_end_with_it():
    text = """\
func.func @f() {
  "testnpu.core"() <{core = 0}> ({
  ^bb0(%i: index):
  }) : () -> ()
  "testnpu.use"(%i) : (index) -> ()
  func.return
}
"""
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text)
    assert caught.value.message == (
        "use of undefined value %i "
        "(the %i of line 3 belongs to a region that does not hold this use)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"testnpu.br"() [^nowhere] : () -> ()', "use of undefined block ^nowhere"),
        (
            '"testnpu.br"() [^a] : () -> ()\n  ^a:\n    "testnpu.br"() [^a] : () -> ()\n'
            '  ^a:\n    "testnpu.stop"() : () -> ()',
            "redefinition of block ^a",
        ),
    ],
)
def test_block_errors(body, message):
    loop = f'  "testnpu.loop"() ({{\n    {body}\n  }}) : () -> ()\n'
    text = f"func.func @f() {{\n{loop}  func.return\n}}\n"
    with pytest.raises(DiagnosticError, match=re.escape(message)):
        parse_text(text)


def test_unknown_ops_of_a_registered_dialect_list_its_ops():
    text = 'func.func @f() {\n  "testnpu.cor"() ({\n  }) : () -> ()\n  func.return\n}\n'
    with pytest.raises(DiagnosticError) as caught:
        parse_text(text)
    assert caught.value.message.startswith("unknown op 'testnpu.cor'; did you mean 'testnpu.core'?")
    assert "testnpu.sum" in caught.value.message


def test_variadic_uniform_ops_check_their_types():
    text = (
        "func.func @f(%x: tensor<2xf16>) {\n"
        "  %s = testnpu.sum %x : (tensor<3xf16>) -> tensor<2xf16>\n  func.return\n}\n"
    )
    with pytest.raises(DiagnosticError, match="type mismatch for %x"):
        parse_text(text)
    assert TensorType(f16, [2])  # the dialect's types are builtin ones
