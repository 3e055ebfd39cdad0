"""Assembly text: objdump -> as is the identity, hand-written programs read, errors point."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isakit import programs

from igoc.cli.asm import main as as_main
from igoc.cli.objdump import main as objdump_main
from igoc.isa.asm import AsmError, format_program, parse_assembly
from igoc.isa.instructions import Barrier, DType, Gather, Load, Matmul, Scatter, Store
from igoc.isa.npufile import encode_program, read_npu, write_npu
from igoc.isa.program import Label

HAND_WRITTEN = """\
; a hand-written program: addresses of tensors are laid out automatically
.target edge
.tensor x input f16 [2, 3, 8, 8]
.tensor "odd name" output f32 [64, 64]
.conv c3 [2, 3, 8, 8] kernel=[3, 3] stride=[2, 2] pad=[1, 1] dilation=[1, 1]
.core 0
.label layer1
    load "odd name"[row 1, col 6] rows=4 cols=8 -> spm 0x0 f16 transpose
    gather x conv c3 [m 3, k 5] rows=10 cols=7 -> spm 0x100 bf16   # trailing comment
.end layer1
    matmul spm 0x400 f32 += spm 0x0 * spm 0x100 f16 m=4 k=4 n=4 transpose_b
    store spm 0x400 f32 -> "odd name"[elem 3] rows=2 cols=2 stride=9 accumulate
    scatter spm 0x200 f16 -> x conv c3 [m 1, k 2] rows=3 cols=4 overwrite
    barrier 5
    halt
"""


def test_hand_written_program_reads_as_meant():
    program = parse_assembly(HAND_WRITTEN, "hand.s")
    assert [t.address for t in program.tensors] == [0, 768]
    assert program.tensors[1].name == "odd name"
    s = list(program.streams[0])
    assert s[0] == Load(1, 1 * 64 + 6, 4, 8, 64, 0, DType.F16, True)
    assert s[1] == Gather(0, 0, 3, 5, 10, 7, 0x100, DType.BF16)
    assert s[2] == Matmul(0, 0x100, 0x400, 4, 4, 4, DType.F16, DType.F32, True, False, True)
    assert s[3] == Store(1, 3, 2, 2, 9, 0x400, DType.F32, True)
    assert s[4] == Scatter(0, 0, 1, 2, 3, 4, 0x200, DType.F16, False)
    assert s[5] == Barrier(5, 1)
    assert program.labels == [Label(0, 0, 1, "layer1")]


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_objdump_then_as_gives_the_same_bytes(program):
    text = format_program(program)
    again = parse_assembly(text, "dump.s")
    assert encode_program(again) == encode_program(program)
    assert format_program(again) == text


def test_crossing_labels_of_one_name_use_the_explicit_form():
    program = parse_assembly(HAND_WRITTEN, "hand.s")
    program.labels[:] = [Label(0, 0, 3, "a"), Label(0, 2, 5, "a"), Label(0, 1, 1, "b")]
    text = format_program(program)
    assert ".label a core=0 first=0 last=3" in text
    assert parse_assembly(text).labels == program.labels


@pytest.mark.parametrize(
    "line, col, message",
    [
        ("    lod x[row 0, col 0] rows=1 cols=1 -> spm 0x0 f16", 5, "unknown instruction 'lod'"),
        (
            "    load y[row 0, col 0] rows=1 cols=1 -> spm 0x0 f16",
            10,
            "unknown tensor 'y'; declared: x",
        ),
        ("    load x[row 0, col 0] rows=1 cols=1 -> spm 0x0 f64", 51, "unknown element type 'f64'"),
        ("    load x[row 0, col 0] rows=1 -> spm 0x0 f16", 33, "expected 'cols='"),
        ("    load x[row 0, col 0] rows=1 cols=1 -> spm 0x0 f16 twice", 55, "unexpected 'twice'"),
        ("    matmul spm 0x0 f32 -= spm 0x0 * spm 0x0 f16 m=1 k=1 n=1", 24, "unexpected character"),
        ("    gather x conv c9 [m 0, k 0] rows=1 cols=1 -> spm 0 f16", 19, "unknown conv 'c9'"),
        (".tensr z input f16 [1]", 1, "unknown directive '.tensr'"),
        (".end nothing", 6, "without an open '.label nothing'"),
        ("    barrier 1 cores 0,0", 23, "core 0 listed twice"),
        (
            "    store spm 0x40 f16 -> x[row 0, col 0] rows=1 cols=4 zero",
            5,
            "store: 'zero' takes 'spm 0x0' and neither 'accumulate' nor 'transpose'",
        ),
        (
            "    store spm 0x0 f16 -> x[row 0, col 0] rows=1 cols=4 zero accumulate",
            5,
            "store: 'zero' takes 'spm 0x0'",
        ),
    ],
)
def test_errors_name_file_line_and_column(line, col, message):
    text = (
        ".target edge\n.tensor x input f16 [4, 4, 4, 4]\n"
        ".conv c0 [4, 4, 4, 4] kernel=[1, 1] stride=[1, 1] pad=[0, 0] dilation=[1, 1]\n"
        f".core 0\n{line}\n"
    )
    with pytest.raises(AsmError) as info:
        parse_assembly(text, "bad.s")
    err = info.value
    assert (err.line, err.col) == (5, col), str(err)
    assert message in err.message
    first, source, caret = str(err).split("\n")
    assert first == f"bad.s:5:{col}: error: {err.message}"
    assert source == line and caret == " " * (col - 1) + "^"


def test_whole_file_errors():
    with pytest.raises(AsmError, match="missing '.target'"):
        parse_assembly(".tensor x input f16 [1]\n", "a.s")
    with pytest.raises(AsmError, match="unknown target 'tpu'; presets: edge"):
        parse_assembly(".target tpu\n", "a.s")
    with pytest.raises(AsmError, match="core 2 does not exist"):
        parse_assembly(".target server-2c\n.core 2\n", "a.s")
    with pytest.raises(AsmError, match="label 'l' is not closed"):
        parse_assembly(".target edge\n.core 0\n.label l\n    halt\n", "a.s")
    with pytest.raises(AsmError, match="target block: missing key 'cores'") as info:
        parse_assembly('.target {\nname = "x"\n}\n', "a.s")
    assert info.value.line == 1
    with pytest.raises(AsmError, match="overlap"):
        parse_assembly(
            ".target edge\n.tensor a input f16 [4] @ 0\n.tensor b input f16 [4] @ 4\n", "a.s"
        )


def test_command_line_round_trip(tmp_path, capsys):
    src = tmp_path / "hand.s"
    src.write_text(HAND_WRITTEN)
    first = tmp_path / "a.npu"
    assert as_main([str(src), "-o", str(first)]) == 0
    assert objdump_main([str(first)]) == 0
    dumped = capsys.readouterr().out
    (tmp_path / "dump.s").write_text(dumped)
    second = tmp_path / "b.npu"
    assert as_main([str(tmp_path / "dump.s"), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert read_npu(second) == parse_assembly(HAND_WRITTEN)


def test_command_line_errors_exit_1(tmp_path, capsys):
    src = tmp_path / "bad.s"
    src.write_text(".target edge\n.core 0\n    hlt\n")
    assert as_main([str(src), "-o", str(tmp_path / "x.npu")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{src}:3:5: error: unknown instruction 'hlt'")
    assert not (tmp_path / "x.npu").exists()
    junk = tmp_path / "junk.npu"
    junk.write_bytes(b"nothing")
    assert objdump_main([str(junk)]) == 1
    assert "not an igoc program" in capsys.readouterr().err
    write_npu(parse_assembly(HAND_WRITTEN), tmp_path / "ok.npu")
    assert as_main([str(tmp_path / "missing.s"), "-o", str(tmp_path / "y.npu")]) == 1


def test_the_readme_example_assembles_and_runs():
    import pathlib

    from igoc.sim import simulate

    readme = pathlib.Path(__file__).resolve().parents[2] / "igoc" / "isa" / "README.md"
    text = readme.read_text()
    start = text.index("```\n; c = a · b") + 4
    source = text[start : text.index("```", start)]
    program = parse_assembly(source, "README.md")
    assert program.instruction_count == 8 and program.labels[0].name == "layer1"
    assert simulate(program).report["cycles"] > 0
    assert encode_program(parse_assembly(format_program(program))) == encode_program(program)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(HAND_WRITTEN) - 1),
            st.sampled_from(list(' x0[]=,;."-{}\n9f')),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_mutated_text_gives_a_program_or_a_diagnostic(edits):
    text = list(HAND_WRITTEN)
    for at, char, insert in edits:
        at = min(at, len(text) - 1)
        if insert:
            text.insert(at, char)
        else:
            text[at] = char
    source = "".join(text)
    try:
        program = parse_assembly(source, "m.s")
    except AsmError as err:
        lines = str(err).split("\n")
        assert lines[0].startswith("m.s:") and ": error: " in lines[0] and len(lines) == 3
    else:
        assert encode_program(program)


def test_a_zero_store_reads_back():
    text = (
        ".target edge\n.tensor x output f16 [4, 4]\n.core 0\n"
        "    store spm 0x0 f16 -> x[row 1, col 0] rows=3 cols=4 zero\n    halt\n"
    )
    program = parse_assembly(text)
    assert program.streams[0][0] == Store(0, 4, 3, 4, 4, 0, DType.F16, zero=True)
    assert "rows=3 cols=4 zero" in format_program(program)
    assert parse_assembly(format_program(program)) == program
