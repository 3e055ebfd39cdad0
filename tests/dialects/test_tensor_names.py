"""Every value of a module gets a DRAM tensor of its own, whatever names the functions use."""

from __future__ import annotations

from igoc.api import compile_text
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs

CLASHING = """
func.func @a(%b.x: tensor<4x8xf16>, %b.y: tensor<8x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %b.x, %b.y : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}
func.func @a.b(%x: tensor<4x16xf16>, %w: tensor<16x8xf16>) -> tensor<4x8xf16> {
  %y = grad.matmul %x, %w : (tensor<4x16xf16>, tensor<16x8xf16>) -> tensor<4x8xf16>
  func.return %y : tensor<4x8xf16>
}
"""


def test_names_that_clash_across_functions_stay_apart():
    """``@a(%b.x)`` and ``@a.b(%x)`` both spell ``a.b.x``, and ``@a``'s input ``%b.y``
    and ``@a.b``'s result ``%y`` both ``a.b.y``: each value keeps a tensor of its own,
    the later one in module order numbered, and the program computes both functions as
    numpy does (before, the two were one tensor, or an internal error when their types
    differed)."""
    program = compile_text(CLASHING, "edge", "igo")
    names = [t.name for t in program.tensors]
    assert len(set(names)) == len(names) == 6
    assert names.index("a.b.x") < names.index("a.b.x.2")
    shapes = {t.name: tuple(t.shape) for t in program.tensors}
    assert shapes["a.b.x"] == (4, 8) and shapes["a.b.x.2"] == (4, 16)
    roles = {t.name: t.role for t in program.tensors}
    assert roles["a.b.y"] == "input" and roles["a.b.y.2"] == "output"
    inputs = generate_inputs(program, 0)
    result = simulate(program, functional=True, inputs=inputs)
    verdict = check_outputs(program, inputs, result.tensors, result.unwritten)
    assert verdict["passed"] and set(verdict["outputs"]) == {"a.y", "a.b.y.2"}
