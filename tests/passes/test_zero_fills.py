"""Outputs that a program adds into or writes in part are set to zero first, and that counts.

DRAM holds old data in a training step, so a conv's dX folded back by a scatter that adds
(overlapping windows) or that skips positions (a stride longer than the kernel), and an
output whose reduction the cores split, are zeroed before the layer; the simulator starts
them unwritten, so a program that forgets fails its check.
"""

from __future__ import annotations

import pytest

from igoc.api import compile_text
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs


def conv(batch: int, cin: int, size: int, cout: int, kernel: int, stride: int, pad: int) -> str:
    out = (size + 2 * pad - kernel) // stride + 1
    x = f"tensor<{batch}x{cin}x{size}x{size}xf16>"
    w = f"tensor<{cout}x{cin}x{kernel}x{kernel}xf16>"
    dy = f"tensor<{batch}x{cout}x{out}x{out}xf16>"
    attrs = f"{{stride = [{stride}, {stride}], padding = [{pad}, {pad}]}}"
    return f"""\
func.func @c(%x: {x}, %w: {w}, %dy: {dy}) -> ({x}, {w}) {{
  %dx = grad.conv2d_dx %dy, %w {attrs} : ({dy}, {w}) -> {x}
  %dw = grad.conv2d_dw %x, %dy {attrs} : ({x}, {dy}) -> {w}
  func.return %dx, %dw : {x}, {w}
}}
"""


def _zero_bytes(program, tensor: str) -> int:
    """DRAM bytes the zero stores of a program write into ``tensor``."""
    index = next(i for i, t in enumerate(program.tensors) if t.name == tensor)
    total = 0
    for stream in program.streams:
        for inst in stream:
            if getattr(inst, "zero", False) and inst.tensor == index:
                total += inst.rows * inst.cols * program.tensors[index].dtype.nbytes
    return total


CASES = {
    # name: (layer, whether dX is zeroed, dX positions the windows reach per image channel)
    "3x3 stride 1: windows overlap": ((2, 8, 8, 16, 3, 1, 1), True, 64),
    "1x1 stride 1: one to one": ((2, 8, 8, 16, 1, 1, 0), False, 64),
    "1x1 stride 2: every other row and column": ((2, 8, 8, 16, 1, 2, 0), True, 16),
    "3x3 stride 2, no padding: the last row and column left out": (
        (2, 8, 8, 16, 3, 2, 0),
        True,
        49,
    ),
}


@pytest.mark.parametrize("target", ["edge", "server-2c"])
@pytest.mark.parametrize("pipeline", ["baseline", "igo"])
@pytest.mark.parametrize("case", CASES)
def test_dx_is_written_in_full_and_counted(case, pipeline, target):
    (batch, cin, size, cout, kernel, stride, pad), zeroed, reached = CASES[case]
    program = compile_text(conv(batch, cin, size, cout, kernel, stride, pad), target, pipeline)
    inputs = generate_inputs(program, seed=3)
    result = simulate(program, functional=True, inputs=inputs)
    check = check_outputs(program, inputs, result.tensors, result.unwritten)
    assert check["passed"], check
    assert result.unwritten["dx"] == 0 and result.unwritten["dw"] == 0
    dx_bytes = batch * cin * size * size * 2
    assert _zero_bytes(program, "dx") == (dx_bytes if zeroed else 0)
    traffic = result.report["traffic"]["dx"]
    assert traffic["write"] >= _zero_bytes(program, "dx") + batch * cin * reached * 2
    if not zeroed:
        assert traffic == {"read": 0, "write": dx_bytes}


def test_a_resnext_downsampling_layer_writes_all_of_dx():
    """The layer where the defect was found: 8 x 128 x 56 x 56 dX, a 1x1 conv of stride 2 on
    server: the windows reach a quarter of dX; the rest is zero, and written."""
    program = compile_text(conv(8, 128, 56, 256, 1, 2, 0), "server", "baseline")
    traffic = simulate(program).report["traffic"]["dx"]
    dx_bytes = 8 * 128 * 56 * 56 * 2
    assert dx_bytes == 6_422_528
    assert traffic == {"read": 0, "write": dx_bytes + dx_bytes // 4}


def test_cores_adding_into_dw_zero_it_first():
    """With the batch split over two cores, each adds its share of dW: dW is zeroed first."""
    program = compile_text(conv(4, 8, 8, 16, 1, 1, 0), "server-2c", "baseline")
    dw_bytes = 16 * 8 * 2
    assert _zero_bytes(program, "dw") == dw_bytes
    inputs = generate_inputs(program, seed=5)
    result = simulate(program, functional=True, inputs=inputs)
    assert check_outputs(program, inputs, result.tensors, result.unwritten)["passed"]
    assert result.report["traffic"]["dw"] == {"read": 2 * dw_bytes, "write": 3 * dw_bytes}
