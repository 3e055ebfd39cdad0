"""Bounded work on absurd input: sizes beyond igoc's limits, deep nesting, huge literals,
absurd targets and long lines are one diagnostic (exit 1) at the offending op, never an
internal error, and are refused before any pass starts."""

from __future__ import annotations

import math
import pathlib

import pytest

from igoc import limits
from igoc.cli import igoc as igoc_cli
from igoc.frontend.lexer import MAX_DIGITS, MAX_NESTING

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONV3X3 = (ROOT / "samples" / "basics" / "conv3x3.mlir").read_text()


def _matmul_dx(dy: str, w: str, dx: str) -> str:
    return f"""\
func.func @f(%dy: tensor<{dy}xf16>, %w: tensor<{w}xf16>) -> tensor<{dx}xf16> {{
  %dx = grad.matmul_dx %dy, %w : (tensor<{dy}xf16>, tensor<{w}xf16>) -> tensor<{dx}xf16>
  func.return %dx : tensor<{dx}xf16>
}}
"""


def _matmuls(count: int, m: int, k: int, n: int) -> str:
    x, w, y = f"tensor<{m}x{k}xf16>", f"tensor<{k}x{n}xf16>", f"tensor<{m}x{n}xf16>"
    body = "".join(f"  %y{i} = grad.matmul %x, %w : ({x}, {w}) -> {y}\n" for i in range(count))
    results = ", ".join(f"%y{i}" for i in range(count))
    types = ", ".join([y] * count)
    return (
        f"func.func @f(%x: {x}, %w: {w}) -> ({types}) {{\n{body}"
        f"  func.return {results} : {types}\n}}\n"
    )


def _padded(pad: int, size: int) -> str:
    dy = f"tensor<1x1x{size}x{size}xf16>"
    return f"""\
func.func @c(%w: tensor<1x1x3x3xf16>, %dy: {dy}) -> tensor<1x1x4x4xf16> {{
  %dx = grad.conv2d_dx %dy, %w {{padding = [{pad}, {pad}]}}
      : ({dy}, tensor<1x1x3x3xf16>) -> tensor<1x1x4x4xf16>
  func.return %dx : tensor<1x1x4x4xf16>
}}
"""


# The most multiply-accumulates a step can do on edge (1 MiB of SPM, 2-byte elements, 4-byte
# accumulators): the three tiles' bytes, each a third of the SPM at best.
EDGE_MACS_PER_STEP = math.sqrt((1048576 / 3) ** 3 / (2 * 2 * 4))
STEPS_OF_ONE = math.ceil(65536**3 / EDGE_MACS_PER_STEP)
STEPS_OF_HALF = math.ceil(65536 * 32768 * 65536 / EDGE_MACS_PER_STEP)
OVER_AT = next(n for n in range(1, 100) if n * STEPS_OF_HALF > 1 << 26)

CASES = {
    "dims of 10^8": (
        _matmul_dx("100000000x64", "100000000x64", "100000000x100000000"),
        "2:3: error: 'grad.matmul_dx' op dY has a dimension of 100,000,000; igoc's limit "
        "is 16,777,216 per dimension",
    ),
    "a dim of 2^64": (
        _matmul_dx("4x64", "18446744073709551616x64", "4x18446744073709551616"),
        "W has a dimension of 18,446,744,073,709,551,616",
    ),
    "too many elements": (
        _matmul_dx("65536x65537", "4x65537", "65536x4"),
        "dY has 4,295,032,832 elements; igoc's limit is 4,294,967,296 per tensor",
    ),
    "conv stride 2^63-1": (
        CONV3X3.replace("{padding = [1, 1]}", "{stride = [9223372036854775807, 1]}", 1),
        "7:3: error: 'grad.conv2d' op stride of 9,223,372,036,854,775,807 is beyond igoc's "
        "limit of 16,777,216",
    ),
    "padding 10^6": (_padded(1_000_000, 2_000_002), "dY has 4,000,008,000,004 elements"),
    "padding 2^40": (_padded(1 << 40, 4), "padding of 1,099,511,627,776 is beyond"),
    "tile steps per op": (
        _matmuls(1, 65536, 65536, 65536),
        f"2:3: error: this op needs at least {STEPS_OF_ONE:,} tile steps on target 'edge'",
    ),
    "instructions per program": (
        _matmuls(25, 65536, 32768, 65536),
        f"{OVER_AT + 1}:3: error: the program needs at least {OVER_AT * STEPS_OF_HALF:,} "
        "instructions by this op on target 'edge'; igoc's limit is 67,108,864 per program",
    ),
    "deep attributes": (
        "module attributes {a = " + "[" * 1000 + "1" + "]" * 1000 + "} {\n}\n",
        f"error: nesting deeper than {MAX_NESTING} levels",
    ),
    "nested modules": (
        "module {\n" * 400 + "}\n" * 400,
        f"{MAX_NESTING + 1}:8: error: nesting deeper than {MAX_NESTING} levels",
    ),
    "a 5,000-digit literal": (
        "module attributes {a = " + "9" * 5000 + "} {\n}\n",
        f"1:24: error: a number of 5,000 digits; numbers have at most {MAX_DIGITS}",
    ),
    "a 5,000-digit padding": (
        CONV3X3.replace("padding = [1, 1]", "padding = [1, " + "7" * 5000 + "]", 1),
        "error: a number of 5,000 digits",
    ),
    "a 5,000-digit number in a dialect attribute broken over lines": (
        "module attributes {a = #sched.gemm<m = 4,\n  n = " + "9" * 5000 + ", k = 8, groups = 1>}"
        " {\n}\n",
        f"2:7: error: a number of 5,000 digits; numbers have at most {MAX_DIGITS}",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_absurd_input_is_one_diagnostic(name, tmp_path, capsys):
    text, message = CASES[name]
    path = tmp_path / "absurd.mlir"
    path.write_text(text)
    out = tmp_path / "out.npu"
    status = igoc_cli.main([str(path), "--target", "edge", "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert message in err.splitlines()[0], err
    assert err.startswith(f"{path}:") and "internal error" not in err
    assert not out.exists()


def test_the_limits_leave_room_for_the_largest_sample():
    """The largest of the paper's workloads is far inside every limit (2x at least)."""
    from igoc.frontend import parse_file
    from igoc.target import load_target

    module = parse_file(str(ROOT / "samples" / "models" / "t5-large-b32.mlir"))
    per_step = limits.max_macs_per_step(load_target("edge"))
    steps = [limits.gemm_macs(op) / per_step for op in module.walk() if limits.gemm_macs(op)]
    assert 2 * max(steps) < limits.MAX_TILE_STEPS
    assert 2 * sum(steps) < limits.MAX_INSTRUCTIONS
    limits.check_work(module, load_target("edge"))


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("dram_bandwidth_gb_per_s", "1e-300", "got 1e-300"),
        ("clock_mhz", "1e308", "got 1e+308"),
        ("dram_latency_cycles", str(2**63 - 1), "'dram_latency_cycles' must be between 0 and"),
    ],
)
def test_absurd_targets_are_refused_when_loaded(key, value, message, tmp_path, capsys):
    from igoc.target import load_target

    lines = [
        f"{k} = {value}" if k == key else line
        for line in load_target("edge").to_toml().splitlines()
        for k in [line.split(" = ")[0]]
    ]
    target = tmp_path / "absurd.toml"
    target.write_text("\n".join(lines) + "\n")
    sample = ROOT / "samples" / "basics" / "linear.mlir"
    status = igoc_cli.main([str(sample), "--target", str(target), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and message in err, err


def test_a_long_line_is_quoted_around_the_caret(tmp_path, capsys):
    filler = (
        "%z = grad.matmul %x, %w : (tensor<4x128xf16>, tensor<128x64xf16>) -> tensor<4x64xf16> "
    )
    text = (ROOT / "samples" / "basics" / "linear.mlir").read_text()
    text = text.replace("  %dx = grad", "  " + filler * 6000 + "oops\n  %dx = grad", 1)
    path = tmp_path / "long.mlir"
    path.write_text(text)
    assert len(max(text.splitlines(), key=len)) > 500_000
    assert igoc_cli.main([str(path), "--emit=grad"]) == 1
    headline, quoted, caret = capsys.readouterr().err.splitlines()
    assert "unknown op 'oops'" in headline
    assert len(quoted) <= 210 and quoted.startswith("...") and quoted.endswith("oops")
    assert caret == " " * quoted.index("oops") + "^"
