"""A schedule that does not fit the SPM on every core is never taken for a bug in igoc."""

import pathlib

from igoc.cli import igoc as igoc_cli
from igoc.isa.npufile import decode_program
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs
from igoc.target import load_target

GROUPED = """
func.func @ie2(%x: tensor<1x12x17x19xf16>, %w: tensor<21x4x4x4xf16>, %dy: tensor<1x21x17x10xf16>)
    -> (tensor<1x21x17x10xf16>, tensor<1x12x17x19xf16>, tensor<21x4x4x4xf16>) {
  %y = grad.conv2d %x, %w {stride = [1, 2], padding = [3, 3], dilation = [2, 2], groups = 3}
      : (tensor<1x12x17x19xf16>, tensor<21x4x4x4xf16>) -> tensor<1x21x17x10xf16>
  %dx = grad.conv2d_dx %dy, %w {stride = [1, 2], padding = [3, 3], dilation = [2, 2], groups = 3}
      : (tensor<1x21x17x10xf16>, tensor<21x4x4x4xf16>) -> tensor<1x12x17x19xf16>
  %dw = grad.conv2d_dw %x, %dy {stride = [1, 2], padding = [3, 3], dilation = [2, 2], groups = 3}
      : (tensor<1x12x17x19xf16>, tensor<1x21x17x10xf16>) -> tensor<21x4x4x4xf16>
  func.return %y, %dx, %dw : tensor<1x21x17x10xf16>, tensor<1x12x17x19xf16>, tensor<21x4x4x4xf16>
}"""


def test_a_grouped_conv_on_three_small_cores_compiles_under_every_igo_pipeline(
    capsys, tmp_path: pathlib.Path
):
    """A grouped conv on three cores with 16 KiB of SPM each: select-order's simulation of
    a contender (the whole program: the op before, every group, every core) found a step
    whose tiles fit by their bytes but not in the holes the SPM had left, which select-order
    took for a bug in igoc (exit 3), and the forced order of igo-interleave failed in the
    lowering (exit 1). The planner places such a step's tiles again side by side, and a
    schedule that does not fit where it runs is set aside (test_decide_pick): both compile,
    and their programs compute the gradients."""
    source = tmp_path / "grouped.mlir"
    source.write_text(GROUPED)
    argv = [str(source), "--target", "edge", "--set", "cores=3", "--set", "spm_bytes=16384"]
    target = load_target("edge", [("cores", 3), ("spm_bytes", 16384)])
    for name in ("igo", "igo-interleave"):
        out = tmp_path / f"{name}.npu"
        assert igoc_cli.main([*argv, "--pipeline", name, "-o", str(out)]) == 0, capsys.readouterr()
        program = decode_program(out.read_bytes())
        assert program.meta["pipeline"] == name and program.target == target
        inputs = generate_inputs(program, seed=1)
        result = simulate(program, functional=True, inputs=inputs)
        assert check_outputs(program, inputs, result.tensors, result.unwritten)["passed"]
