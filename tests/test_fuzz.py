"""Damaged input of every kind gives an exit status of 0, 1 or 2, never an internal error.

Hypothesis mutates valid inputs — MLIR text for ``igoc``, ``.npu`` bytes for ``igoc-sim``
and ``igoc-objdump``, assembly text for ``igoc-as``, target TOML for ``igoc --target`` —
and runs each command in-process. A case passes when the command returns 0 (it is still
valid), 1 (a diagnostic) or 2 (bad usage), prints no traceback and raises nothing.
No deadline: how long a case takes depends on the machine and its load (the size
limits are checked by ``tests/test_limits.py``: refused before any pass starts).
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import struct
import tempfile
import zlib

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from igoc.cli import asm, objdump, sim
from igoc.cli import igoc as igoc_cli
from igoc.target import load_target

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINEAR = (ROOT / "samples" / "basics" / "linear.mlir").read_text()
SMALL_CONV = """\
func.func @c(%x: tensor<1x4x6x6xf16>, %w: tensor<8x4x3x3xf16>, %dy: tensor<1x8x3x3xf16>)
    -> (tensor<1x4x6x6xf16>, tensor<8x4x3x3xf16>) {
  %dx = grad.conv2d_dx %dy, %w {stride = [2, 2], padding = [1, 1]}
      : (tensor<1x8x3x3xf16>, tensor<8x4x3x3xf16>) -> tensor<1x4x6x6xf16>
  %dw = grad.conv2d_dw %x, %dy {stride = [2, 2], padding = [1, 1]}
      : (tensor<1x4x6x6xf16>, tensor<1x8x3x3xf16>) -> tensor<8x4x3x3xf16>
  func.return %dx, %dw : tensor<1x4x6x6xf16>, tensor<8x4x3x3xf16>
}
"""
ASSEMBLY = """\
.target edge
.tensor a input f16 [8, 12]
.tensor b input f16 [12, 8]
.tensor c output f16 [8, 8]
.tensor x input f16 [1, 2, 5, 5]
.conv c0 [1, 2, 5, 5] kernel=[3, 3] stride=[2, 2] pad=[1, 1] dilation=[1, 1]
.core 0
.label mm
    load a[row 0, col 0] rows=8 cols=12 -> spm 0x0 f16
    load b[row 0, col 0] rows=12 cols=8 -> spm 0x100 f16
    matmul spm 0x200 f32 = spm 0x0 * spm 0x100 f16 m=8 k=12 n=8
    store spm 0x0 f16 -> c[row 0, col 0] rows=8 cols=8 zero
    store spm 0x200 f32 -> c[row 0, col 0] rows=8 cols=8 accumulate
.end mm
    gather x conv c0 [m 0, k 0] rows=9 cols=18 -> spm 0x400 f16
    barrier 0 cores 0
    halt
"""

# Edits: what replaces or joins the text at a position (tokens of the syntax, digits that
# make sizes absurd, nesting, and bytes that are no text at all).
PIECES = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "0",
        "9",
        "99999999999999999999",
        "-1",
        "x",
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        "<",
        ">",
        ",",
        "=",
        ":",
        "%",
        "@",
        '"',
        "//",
        "->",
        "tensor<",
        "f64",
        "grad.conv2d",
        "module {",
        "[" * 70,
        "\x00",
        "\u00e9",
        "\ufffd",
    ]
)


def edited(text: str):
    """A strategy of ``text`` with one to four edits: replace, insert or delete a span."""

    def apply(edits) -> str:
        out = text
        for at, span, piece in edits:
            at = at % (len(out) + 1)
            out = out[:at] + piece + out[at + span :]
        return out

    edit = st.tuples(st.integers(0, 10**6), st.integers(0, 12), PIECES)
    return st.lists(edit, min_size=1, max_size=4).map(apply)


def run(main, argv: list[str], stdin: bytes | None = None) -> tuple[int, str]:
    """A command's exit status and standard error, run in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        status = main(argv)
    return status, err.getvalue()


def assert_clean(status: int, err: str) -> None:
    event(f"exit {status}")  # --hypothesis-show-statistics: how often each status came
    assert status in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if status:
        assert err.strip(), "a failure must say why"


FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


EXTREMES = st.sampled_from(
    ["0", "1", "3", "16777217", "4294967297", "9223372036854775807", "18446744073709551616"]
)


def resized(text: str):
    """A strategy of ``text`` with every occurrence of one of its numbers made another, so
    that shapes stay consistent and the input reaches the verifier's limits and the passes."""
    # A number stands alone or between the x's of a shape (4x128xf16), not inside a name.
    alone = r"(?<![0-9A-Za-wyz_.]){}(?![0-9A-Za-wyz_.])"
    numbers = sorted(set(re.findall(alone.format(r"\d+"), text)))

    def apply(change) -> str:
        old, new = change
        return re.sub(alone.format(old), new, text)

    return st.tuples(st.sampled_from(numbers), EXTREMES).map(apply)


@FUZZ
@given(st.one_of(edited(LINEAR), edited(SMALL_CONV), resized(LINEAR), resized(SMALL_CONV)))
def test_mutated_mlir(text):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "in.mlir"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        status, err = run(igoc_cli.main, [str(path), "--target", "edge", "-o", f"{folder}/o"])
    assert_clean(status, err)


def _program_bytes() -> bytes:
    from igoc.isa.asm import parse_assembly
    from igoc.isa.npufile import encode_program

    return encode_program(parse_assembly(ASSEMBLY))


PROGRAM = _program_bytes()


def _with_checksum(data: bytes) -> bytes:
    """The bytes with a trailer that matches them (so the reader looks past the checksum)."""
    body = data[:-4] if len(data) >= 4 else data
    return body + struct.pack("<I", zlib.crc32(body))


STREAM = PROGRAM.index(b"STRM") + 16 + 16  # the first instruction record of core 0


@st.composite
def damaged_programs(draw) -> bytes:
    data = bytearray(PROGRAM)
    if draw(st.booleans()):  # damage instruction records only, the tables left intact
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(STREAM, len(data) - 5))
            data[at] = draw(st.integers(0, 255))
        return _with_checksum(bytes(data))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "word", "cut", "grow"]))
        if kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "word":
            value = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1]))
            data[at : at + 8] = value.to_bytes(8, "little")
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            data[at:at] = bytes(draw(st.integers(1, 64)))
    out = bytes(data)
    return _with_checksum(out) if draw(st.booleans()) else out


@FUZZ
@given(damaged_programs())
def test_mutated_programs(data):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "p.npu"
        path.write_bytes(data)
        for main in (sim.main, objdump.main):
            assert_clean(*run(main, [str(path)]))


@FUZZ
@given(edited(ASSEMBLY))
def test_mutated_assembly(text):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "p.s"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        status, err = run(asm.main, [str(path), "-o", f"{folder}/p.npu"])
        assert_clean(status, err)
        if status == 0:
            assert_clean(*run(sim.main, [f"{folder}/p.npu"]))


VALUES = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "3",
        "1e-300",
        "1e308",
        "inf",
        "nan",
        str(2**63 - 1),
        str(2**64),
        "true",
        '"x"',
        '""',
        "[1]",
        "{}",
        "4096",
        "65537",
        "2",
        "16",
        "0.5",
        "1000.0",
    ]
)
TARGET = load_target("edge").to_toml()


NUMERIC_KEYS = [
    line.split(" = ")[0]
    for line in TARGET.splitlines()
    if re.fullmatch(r"[\d.e+-]+", line.split(" = ")[1])
]
EXTREME_NUMBERS = st.sampled_from(
    ["1e-300", "1e308", "0.001", "100000.0", "1000000", str(2**63 - 1), str(2**32), "1", "0"]
)


@st.composite
def damaged_targets(draw) -> str:
    lines = TARGET.splitlines()
    if draw(st.booleans()):  # one number of the machine made extreme, all else as it was
        key = draw(st.sampled_from(NUMERIC_KEYS))
        value = draw(EXTREME_NUMBERS)
        return (
            "\n".join(
                f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in lines
            )
            + "\n"
        )
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        key = lines[i].split(" = ")[0]
        choice = draw(st.sampled_from(["value", "number", "number", "drop", "rename"]))
        if choice == "value":
            lines[i] = f"{key} = {draw(VALUES)}"
        elif choice == "number":  # often in range: the compile then runs on an odd machine
            lines[i] = f"{key} = {draw(st.integers(1, 64))}"
        elif choice == "drop":
            lines[i] = ""
        else:
            lines[i] = f"{key}x = 1"
    text = "\n".join(lines) + "\n"
    return draw(st.one_of(st.just(text), st.just(text), edited(text)))


@FUZZ
@given(damaged_targets())
def test_mutated_targets(toml):
    with tempfile.TemporaryDirectory() as folder:
        target = pathlib.Path(folder) / "t.toml"
        target.write_text(toml, encoding="utf-8", errors="surrogatepass")
        mlir = pathlib.Path(folder) / "in.mlir"
        mlir.write_text(LINEAR)
        status, err = run(
            igoc_cli.main, [str(mlir), "--target", str(target), "-o", f"{folder}/o.npu"]
        )
    assert_clean(status, err)
