"""The igoc driver: flags, stages, dumps, output, exit codes; no traceback for bad input."""

import pathlib
import re
import subprocess
import sys

import pytest
from clikit import LAYER

from igoc import pipeline
from igoc.cli import igoc as igoc_cli
from igoc.dialects.npu import module_target, stamp_target
from igoc.frontend import parse_text, print_module
from igoc.target import load_target

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def layer(tmp_path) -> pathlib.Path:
    path = tmp_path / "layer.mlir"
    path.write_text(LAYER)
    return path


@pytest.fixture
def test_passes(monkeypatch):
    """Register the misbehaving passes of clikit and a pipeline through every stage."""
    for name in ("Reject", "Crash", "Break", "Target"):
        monkeypatch.setitem(pipeline.PASSES, f"test-{name.lower()}", f"clikit:{name}Pass")
    monkeypatch.setitem(pipeline.PIPELINES, "staged", "cse,test-target,canonicalize")
    monkeypatch.setitem(pipeline.STAGE_OF_PASS, "cse", "gemm")
    monkeypatch.setitem(pipeline.STAGE_OF_PASS, "canonicalize", "fused")


def run(capsys, *argv):
    status = igoc_cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# ---- output --------------------------------------------------------------------------------------


def test_prints_the_final_ir(capsys, layer):
    status, out, err = run(capsys, layer, "--pass-pipeline=cse")
    assert (status, err) == (0, "")
    module = parse_text(out)
    assert sum(op.name == "grad.matmul" for op in module.walk()) == 1
    assert module_target(module) == load_target("server")


def test_output_file_is_written_whole(capsys, layer, tmp_path):
    out_path = tmp_path / "out.mlir"
    status, out, _ = run(capsys, layer, "--pass-pipeline=cse", "-o", out_path)
    assert status == 0 and out == ""
    assert parse_text(out_path.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.mlir", "out.mlir"]


def test_a_failed_run_leaves_no_output_file(capsys, tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text(LAYER.replace("%y2 = grad.matmul %x, %w", "%y2 = grad.matmul %x, %q"))
    out_path = tmp_path / "out.mlir"
    status, _, err = run(capsys, bad, "-o", out_path)
    assert status == 1 and "use of undefined value %q" in err
    assert not out_path.exists()


def test_output_to_a_missing_folder(capsys, layer, tmp_path):
    status, _, err = run(capsys, layer, "--emit=grad", "-o", tmp_path / "no" / "out.mlir")
    assert status == 1 and "cannot write" in err


def test_same_input_same_output(capsys, layer):
    first = run(capsys, layer, "--pass-pipeline=cse,canonicalize")
    second = run(capsys, layer, "--pass-pipeline=cse,canonicalize")
    assert first == second


def test_generic_output_parses_back(capsys, layer):
    status, out, _ = run(capsys, layer, "--emit=grad", "--generic")
    assert status == 0 and out.startswith('"builtin.module"() ({')
    assert print_module(parse_text(out)) == print_module(parse_text(LAYER))


def test_standard_input(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(LAYER.encode())))
    status, out, _ = run(capsys, "-", "--emit=grad")
    assert status == 0 and "func.func @layer" in out


# ---- targets -------------------------------------------------------------------------------------


def test_target_is_stamped_when_given_or_when_passes_run(capsys, layer, tmp_path):
    _, out, _ = run(capsys, layer, "--emit=grad")
    assert "igoc.target" not in out
    _, out, _ = run(capsys, layer, "--emit=grad", "--target=edge")
    assert module_target(parse_text(out)) == load_target("edge")
    custom = tmp_path / "mine.toml"
    custom.write_text(load_target("edge").to_toml().replace('"edge"', '"mine"'))
    _, out, _ = run(capsys, layer, "--pass-pipeline=cse", "--target", custom)
    assert module_target(parse_text(out)).name == "mine"


def test_the_inputs_target_is_kept_without_target_flag(capsys, tmp_path, test_passes):
    stamped = tmp_path / "stamped.mlir"
    module = parse_text(LAYER)
    stamp_target(module, load_target("edge"))
    stamped.write_text(print_module(module))
    status, out, _ = run(capsys, stamped, "--pass-pipeline=test-target")
    assert status == 0 and 'test.seen = "edge"' in out
    status, out, _ = run(capsys, stamped, "--pass-pipeline=test-target", "--target=server")
    assert 'test.seen = "server"' in out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        # A name that is no target, or a setting the target cannot take: bad usage.
        (["--target=nowhere"], 2, "igoc: error: unknown target 'nowhere'"),
        (["--set", "cores=0"], 2, "igoc: error: the input's target with cores=0: key 'cores'"),
        (["--target=edge", "--set", "cores=0"], 2, "igoc: error: preset 'edge' with cores=0"),
        (["--set", "cores=1_0"], 2, "key 'cores' takes an integer, got '1_0'"),
        # A target file that cannot be read, or is no target: bad input.
        (["--target=missing.toml"], 1, "cannot read target file"),
        (["--target={bad}"], 1, "error: {bad}: key 'cores' must be between 1 and 32, got 0"),
        (["--target={bad}", "--set", "clock_mhz=500"], 1, "error: {bad}: key 'cores' must be"),
        # The file's fault replaced by one of the settings': bad usage.
        (["--target={bad}", "--set", "cores=-1"], 2, "igoc: error: {bad} with cores=-1: key"),
    ],
)
def test_bad_targets(capsys, layer, tmp_path, argv, status, message):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "edge"\ncores = 0\n')
    argv = [a.replace("{bad}", str(bad)) for a in argv]
    got, _, err = run(capsys, layer, *argv)
    assert got == status and message.replace("{bad}", str(bad)) in err


def test_a_setting_mends_a_target_file(capsys, layer, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "edge"\ncores = 0\n')
    status, out, _ = run(capsys, layer, f"--target={bad}", "--set", "cores=2", "--emit", "grad")
    assert status == 0 and "cores = 2" in out


def test_a_broken_target_in_the_input(capsys, tmp_path):
    path = tmp_path / "t.mlir"
    path.write_text('module attributes {igoc.target = #npu.target<name = "x">} {\n' + LAYER + "}\n")
    status, _, err = run(capsys, path, "--pass-pipeline=cse")
    assert status == 1
    assert err.startswith(f"{path}:1:34: error: #npu.target: missing key 'cores'")
    path.write_text('module attributes {igoc.target = {name = "x"}} {\n' + LAYER + "}\n")
    status, _, err = run(capsys, path, "--pass-pipeline=cse")
    assert status == 1
    assert err.startswith(f"{path}:1:1: error: igoc.target must be a #npu.target<...>")


def test_set_replaces_keys_of_the_target_typed_by_the_key(capsys, layer, tmp_path):
    import dataclasses

    _, out, _ = run(
        capsys,
        layer,
        "--emit=grad",
        "--target=edge",
        "--set",
        "dram_bandwidth_gb_per_s=11",
        "--set",
        "spm_shared=true",
    )
    expected = dataclasses.replace(
        load_target("edge"),
        name="edge[dram_bandwidth_gb_per_s=11,spm_shared=true]",
        dram_bandwidth_gb_per_s=11.0,
        spm_shared=True,
    )
    assert module_target(parse_text(out)) == expected
    # Without --target, the settings change the input's own target.
    stamped = tmp_path / "stamped.mlir"
    stamped.write_text(out)
    _, again, _ = run(capsys, stamped, "--emit=grad", "--set", "cores=2")
    assert module_target(parse_text(again)) == dataclasses.replace(
        expected, name=expected.name + "[cores=2]", cores=2
    )
    # The program records the changed target; the simulator times it with it.
    status, _, _ = run(
        capsys, layer, "--target=edge", "--set", "clock_mhz=500", "-o", tmp_path / "p.npu"
    )
    from igoc.isa import read_npu

    assert status == 0
    assert read_npu(tmp_path / "p.npu").target.clock_mhz == 500.0


@pytest.mark.parametrize(
    ("setting", "status", "message"),
    [
        ("cores=two", 2, "igoc: error: --set cores=two: key 'cores' takes an integer, got 'two'"),
        ("vector_units=4", 2, "igoc: error: --set vector_units=4: unknown key 'vector_units'"),
        ("vector=1", 2, "array_timing, overlap\n"),  # a compiler's keys: not variant or batch
        ("batch=8", 2, "igoc: error: --set batch=8: key 'batch' chooses what igoc-bench runs"),
        ("dram_bandwidth_gb_per_s", 2, "--set dram_bandwidth_gb_per_s: expected KEY=VALUE"),
        (
            "cores=0",
            2,
            "igoc: error: preset 'edge' with cores=0: key 'cores' must be between 1 and 32, got 0",
        ),
        ("dataflow=rs", 2, "key 'dataflow' must be one of os, ws, got 'rs'"),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(
    capsys, layer, tmp_path, setting, status, message
):
    got, out, err = run(capsys, layer, "--target=edge", "--set", setting, "-o", tmp_path / "p.npu")
    assert (got, out) == (status, "")
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "p.npu").exists()


# ---- pipelines and stages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pipeline=nope"], "unknown pipeline 'nope'; known pipelines: "),
        (["--pass-pipeline=cse,nosuch"], "unknown pass 'nosuch'"),
        (["--pass-pipeline=cse{"], "bad pass pipeline 'cse{': expected argument name here (at"),
        (["--pass-pipeline=cse,,dce"], "'cse,,dce': expected pass name here (at column 5)\n"),
        (["--pass-pipeline=cse{unknown=1}"], "bad pass pipeline"),
        (["--emit=gemmm"], "unknown stage 'gemmm'; stages: grad, gemm, fused"),
        (["--pass-pipeline=cse", "--emit=tiled"], "never reaches stage 'tiled'; it reaches grad"),
        (["--print-ir-after=nosuch"], "--print-ir-after: unknown pass 'nosuch'"),
        (
            ["--pipeline=baseline", "--print-ir-after=confirm-program"],
            "--print-ir-after confirm-program: the pipeline 'baseline' does not run it; it runs: "
            "conv-to-gemm, tile, select-order, partition, lower-to-npu",
        ),
        (
            ["--emit=tiled", "--print-ir-after=partition"],
            "the pipeline 'igo' up to --emit tiled does not run it; it runs: conv-to-gemm",
        ),
    ],
)
def test_bad_usage_exits_2(capsys, layer, argv, message):
    status, out, err = run(capsys, layer, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("igoc: error: ") and message in err and err.count("\n") == 1


def test_a_dump_dir_that_is_a_file_is_an_output_error_in_words(capsys, layer, tmp_path):
    """As every output that cannot be written: exit 1, and nothing compiled."""
    taken = tmp_path / "taken"
    taken.write_text("kept")
    status, _, err = run(capsys, layer, "--dump-dir", taken, "-o", tmp_path / "x.npu")
    assert status == 1
    assert err == (
        f"error: cannot make the folder of --dump-dir '{taken}': a file of that name is there\n"
    )
    assert taken.read_text() == "kept"
    assert not (tmp_path / "x.npu").exists()


def test_a_dump_dir_of_standard_output_is_bad_usage(capsys, layer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, layer, "--dump-dir", "-", "-o", tmp_path / "x.npu")
    assert (status, out) == (2, "")
    assert err.startswith("igoc: error: --dump-dir names a folder, and '-' (standard output)")
    assert not (tmp_path / "-").exists() and not (tmp_path / "x.npu").exists()


def test_dumps_of_an_earlier_run_left_in_the_dump_dir_are_named(capsys, layer, tmp_path):
    dumps, out = tmp_path / "dumps", tmp_path / "x.npu"
    (dumps).mkdir()
    (dumps / "notes.txt").write_text("mine")
    assert run(capsys, layer, "--dump-dir", dumps, "-o", out)[0] == 0
    status, _, err = run(capsys, layer, "--pipeline=baseline", "--dump-dir", dumps, "-o", out)
    assert status == 0
    assert err == (
        f"igoc: warning: --dump-dir {dumps} also holds 6 dumps of an earlier run, left as "
        "they are: 02-fuse-gradients.mlir, 03-tile.mlir, 04-select-order.mlir, ...\n"
    )
    assert (dumps / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "fresh"  # a run over its own dumps: nothing to say
    for _ in range(2):
        assert "warning" not in run(capsys, layer, "--dump-dir", fresh, "-o", out)[2]


def test_no_input_is_bad_usage(capsys):
    status, _, err = run(capsys)
    assert status == 2 and "no input file" in err


def test_emit_stops_after_the_pass_that_produces_the_stage(capsys, layer, test_passes):
    status, out, err = run(
        capsys, layer, "--pipeline=staged", "--emit=gemm", "--print-ir-after-all"
    )
    assert status == 0
    assert "IR Dump After cse" in err and "test-target" not in err
    assert "test.seen" not in out
    status, out, err = run(
        capsys, layer, "--pipeline=staged", "--emit=fused", "--print-ir-after-all"
    )
    assert [line for line in err.splitlines() if "IR Dump" in line] == [
        "// -----// IR Dump After cse //----- //",
        "// -----// IR Dump After test-target //----- //",
        "// -----// IR Dump After canonicalize //----- //",
    ]
    assert 'test.seen = "server"' in out


def test_the_npu_stage_ends_in_emit_program(capsys, layer, tmp_path, test_passes, monkeypatch):
    monkeypatch.setitem(pipeline.PIPELINES, "to-npu", "cse")
    monkeypatch.setitem(pipeline.STAGE_OF_PASS, "cse", "npu")
    calls = []
    monkeypatch.setattr(
        igoc_cli, "_emit_program", lambda: lambda m, path, meta, session: calls.append((m, path))
    )
    status, out, _ = run(capsys, layer, "--pipeline=to-npu", "-o", tmp_path / "a.npu")
    assert (status, out) == (0, "")
    ((module, path),) = calls
    assert path == str(tmp_path / "a.npu")
    assert sum(op.name == "grad.matmul" for op in module.walk()) == 1
    status, out, _ = run(capsys, layer, "--pipeline=to-npu", "--emit=grad")
    assert status == 0 and len(calls) == 1 and "func.func @layer" in out
    status, out, _ = run(capsys, layer, "--pipeline=to-npu")  # IN.npu, as cc names foo.o
    assert (status, out) == (0, "") and calls[-1][1] == "layer.npu"
    # --emit=npu prints the npu stage's IR, as --emit does at every stage.
    status, out, _ = run(capsys, layer, "--pipeline=to-npu", "--emit=npu")
    assert status == 0 and len(calls) == 2 and "func.func @layer" in out


# ---- dumps and timing ----------------------------------------------------------------------------


def test_dump_dir_holds_one_parsable_file_per_pass(capsys, layer, tmp_path):
    dumps = tmp_path / "dumps"
    status, _, _ = run(
        capsys,
        layer,
        "--pass-pipeline=cse,canonicalize",
        "--dump-dir",
        dumps,
        "-o",
        tmp_path / "out",
    )
    assert status == 0
    names = sorted(p.name for p in dumps.iterdir())
    assert names == ["00-input.mlir", "01-cse.mlir", "02-canonicalize.mlir"]
    texts = [(dumps / name).read_text() for name in names]
    assert texts[0].startswith("// igoc: the verified input")
    assert texts[1].startswith("// igoc: IR after pass 'cse'")
    counts = [sum(op.name == "grad.matmul" for op in parse_text(t).walk()) for t in texts]
    assert counts == [2, 1, 1]


def test_print_ir_after_one_pass_and_before_all(capsys, layer):
    status, _, err = run(capsys, layer, "--pass-pipeline=cse,canonicalize", "--print-ir-after=cse")
    headers = [line for line in err.splitlines() if line.startswith("// -----//")]
    assert headers == ["// -----// IR Dump After cse //----- //"]
    status, _, err = run(capsys, layer, "--pass-pipeline=cse,canonicalize", "--print-ir-before-all")
    headers = [line for line in err.splitlines() if line.startswith("// -----//")]
    assert headers == [
        "// -----// IR Dump Before cse //----- //",
        "// -----// IR Dump Before canonicalize //----- //",
    ]
    before_cse = err.split("IR Dump Before canonicalize")[0]
    assert before_cse.count("grad.matmul %") == 2


def test_time_passes(capsys, layer):
    status, _, err = run(capsys, layer, "--pass-pipeline=cse,canonicalize", "--time-passes")
    lines = err.splitlines()
    assert status == 0 and lines[0] == "// igoc: wall-clock time per phase (seconds)"
    phases = [line.split(maxsplit=2)[-1] for line in lines[1:]]
    assert phases == ["parse + verify", "cse", "canonicalize", "output", "total"]


def test_list_passes(capsys):
    status, out, _ = run(capsys, "--list-passes")
    assert status == 0
    assert out.startswith("passes:\n")
    for name in ("cse", "dce", "canonicalize", *pipeline.PASSES):
        assert f"  {name} " in out
    assert "pipelines:" in out and "  none " in out


# ---- errors --------------------------------------------------------------------------------------


def test_a_diagnostic_shows_the_line_and_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text(LAYER.replace("tensor<4x2xf16>)\n", "tensor<4x3xf16>)\n", 1))
    status, out, err = run(capsys, bad, "--emit=grad")
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"{bad}:2:1: error: ") or lines[0].startswith(f"{bad}:")
    assert len(lines) == 3 and lines[2].strip() == "^"


def test_a_pass_reports_an_input_error_at_the_users_line(capsys, layer, test_passes):
    status, _, err = run(capsys, layer, "--pass-pipeline=test-reject")
    assert status == 1
    assert err.splitlines() == [
        f"{layer}:4:3: error: this layer needs 9.2 MiB of SPM; the target has 8 MiB",
        "  %y1 = grad.matmul %x, %w : (tensor<4x8xf16>, tensor<8x2xf16>) -> tensor<4x2xf16>",
        "  ^",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("test-crash", "igoc: internal error: pass 'test-crash' failed: a bug"),
        ("test-break", "igoc: internal error: the IR after pass 'test-break' does not verify"),
    ],
)
def test_a_failing_pass_is_an_internal_error(capsys, layer, test_passes, spec, message):
    status, _, err = run(capsys, layer, f"--pass-pipeline={spec}")
    assert status == 3
    assert err.startswith(message) and "Traceback" not in err


GARBAGE = [
    b"",
    b"\x00\x01\x02\x03",
    bytes(range(256)),
    b"func.func @f(%x: tensor<4xf16>) {\n  func.return %x",
    "func.func @\u00e9() {}".encode(),
    b"}}}}{{{{",
    b'"' * 100,
]


@pytest.mark.parametrize("data", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gives_one_diagnostic_in_a_fresh_process(tmp_path, data):
    path = tmp_path / "garbage.mlir"
    path.write_bytes(data)
    run_ = subprocess.run(
        [sys.executable, "-m", "igoc.cli.igoc", str(path)], capture_output=True, text=True
    )
    assert run_.returncode == 1, run_.stderr
    assert "Traceback" not in run_.stderr
    assert run_.stderr.startswith(f"{path}:") and ": error: " in run_.stderr.splitlines()[0]


def test_missing_file_and_folder(capsys, tmp_path):
    status, _, err = run(capsys, tmp_path / "nope.mlir")
    assert status == 1 and err == f"error: cannot read '{tmp_path / 'nope.mlir'}': no such file\n"
    status, _, err = run(capsys, tmp_path)
    assert status == 1 and "it is a directory" in err


# ---- start-up ------------------------------------------------------------------------------------


def test_help_loads_no_heavy_module():
    """`igoc --help` must not import xDSL, lark or numpy (fast start-up; timed by a script)."""
    code = (
        "import sys, igoc.cli.igoc as cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('xdsl', 'lark', 'numpy') if m in sys.modules))"
    )
    run_ = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run_.returncode == 0
    assert "usage: igoc" in run_.stdout
    assert run_.stdout.splitlines()[-1] == "[]"


def test_help_lists_the_target_keys_and_their_choices(capsys):
    with pytest.raises(SystemExit):
        igoc_cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "array_timing (scalesim|pipelined), overlap (double-buffered|serial)" in text
    assert "dataflow (os|ws)" in text and "psum_bytes" in text


def test_the_main_job_on_a_bundled_sample(tmp_path):
    """The README's first command: compile a sample with the default pipeline."""
    out = tmp_path / "conv3x3.out"
    run_ = subprocess.run(
        [
            sys.executable,
            "-m",
            "igoc.cli.igoc",
            str(ROOT / "samples/basics/conv3x3.mlir"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run_.returncode == 0, run_.stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize("name", sorted(pipeline.PIPELINES))
def test_every_stage_of_every_pipeline_reads_back(capsys, tmp_path, name):
    """What igoc prints at any stage, in either form, parses back to the same text."""
    dumps = tmp_path / "dumps"
    suffix = ".npu" if pipeline.PIPELINES[name] else ".mlir"  # none prints its input's IR
    for sample in ("linear", "conv-stride2"):
        path = ROOT / "samples" / "basics" / f"{sample}.mlir"
        status, _, err = run(
            capsys,
            path,
            f"--pipeline={name}",
            "--dump-dir",
            dumps / sample,
            "-o",
            tmp_path / f"{sample}{suffix}",
        )
        assert status == 0, err
    files = sorted(dumps.rglob("*.mlir"))
    assert len(files) == 2 * (len(pipeline.pass_specs(pipeline.PIPELINES[name])) + 1)
    for file in files:
        module = parse_text(file.read_text(), file.name)
        for generic in (False, True):
            text = print_module(module, generic)
            assert print_module(parse_text(text), generic) == text


# ---- hand-edited schedules -----------------------------------------------------------------------

EDITS = {
    "negative tile": (
        lambda line: re.sub(r"tiles = \[(\d+)x", r"tiles = [-\1x", line, count=1),
        "tile sizes are positive integers, written MxNxK",
    ),
    "zero tile": (
        lambda line: re.sub(r"tiles = \[(\d+)x", "tiles = [0x", line, count=1),
        "tile sizes must be three integers of at least 1 (MxNxK), got 0x",
    ),
    "four cores on edge": (
        lambda line: re.sub(
            r"(sched.schedule = #sched.schedule<[^>]*)>",
            r'\1, partition = "m", parts = 4, cores = 4>',
            line,
            count=1,
        ),
        "sched.schedule splits the op over 4 cores, but target 'edge' has 1",
    ),
    "tile past the frame": (
        lambda line: re.sub(
            r"tiles = \[[^\]]*\]",
            lambda tiles: re.sub(r"(?<=[\[ ])\d+x", "999x", tiles.group()),
            line,
            count=1,
        ),
        "is larger than the GEMM frame along M (M = 4)",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_hand_edited_schedule_is_a_diagnostic_not_a_program(capsys, tmp_path, edit):
    """An --emit=partitioned output whose schedule breaks a rule, lowered again: exit 1 with
    FILE:LINE:COL, and no program written."""
    sample = ROOT / "samples" / "basics" / "linear.mlir"
    status, text, err = run(capsys, sample, "--target", "edge", "--emit=partitioned")
    assert status == 0, err
    lines = text.splitlines()
    (index,) = [i for i, line in enumerate(lines) if "grad.interleaved" in line]
    change, message = EDITS[edit]
    lines[index] = change(lines[index])
    path = tmp_path / "edited.mlir"
    path.write_text("\n".join(lines) + "\n")
    output = tmp_path / "edited.npu"
    status, _, err = run(capsys, path, "--pass-pipeline", "lower-to-npu", "-o", output)
    assert status == 1, err
    headline = err.splitlines()[0]
    assert re.match(rf"{re.escape(str(path))}:{index + 1}:\d+: error: ", headline), headline
    assert message in headline
    assert "Traceback" not in err and not output.exists()


@pytest.mark.parametrize("fail", [False, True])
def test_the_collector_is_paused_while_compiling_and_restored_after(
    capsys, monkeypatch, layer, tmp_path, fail
):
    """The cyclic collector does not run during a compile and its output (it would scan the
    plans again and again) and runs again after it, also when the compile fails."""
    import gc

    seen: list[bool] = []
    real = pipeline.run

    def watched(*args, **kwargs):
        seen.append(gc.isenabled())
        if fail:
            raise pipeline.PassError("pass 'x' failed: on purpose")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run", watched)
    assert gc.isenabled()
    status, _, _ = run(capsys, layer, "--target", "edge", "-o", tmp_path / "out.npu")
    assert (status != 0) == fail
    assert seen == [False]
    assert gc.isenabled()
