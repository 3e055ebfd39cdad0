"""Inputs igoc cannot compile as asked are refused with one line, and no input is overwritten."""

import dataclasses
import pathlib

import pytest
from clikit import LAYER

from igoc.api import compile_text
from igoc.cli import igoc as igoc_cli
from igoc.cli import sim as sim_cli
from igoc.frontend import DiagnosticError
from igoc.output import OutputError, refuse_input


@pytest.fixture
def layer(tmp_path) -> pathlib.Path:
    path = tmp_path / "layer.mlir"
    path.write_text(LAYER)
    return path


def stage(capsys, layer: pathlib.Path, name: str) -> str:
    """The IR of ``layer`` at stage ``name`` (igo, edge)."""
    assert igoc_cli.main([str(layer), "--target", "edge", "--emit", name]) == 0
    return capsys.readouterr().out


def test_an_output_that_is_the_input_is_refused(capsys, layer, tmp_path):
    before = layer.read_bytes()
    link = tmp_path / "link.mlir"
    link.symlink_to(layer)
    for argv in (
        [str(layer), "--target", "edge", "-o", str(layer)],
        [str(link), "--target", "edge", "--emit", "tiled", "-o", str(layer)],
    ):
        assert igoc_cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "is the input file" in err and err.count("\n") == 1, err
    assert layer.read_bytes() == before
    # the program's default name beside it is not the input
    assert igoc_cli.main([str(layer), "--target", "edge", "-o", str(tmp_path / "l.npu")]) == 0


def test_no_tool_writes_over_its_input(capsys, layer, tmp_path, monkeypatch):
    """igoc-import, igoc-objdump, igoc-opt and igoc-bench's outputs refuse an input's name
    as igoc does, also by a path through a folder that does not exist (``d/../x``)."""
    from igoc.cli import bench, importer, objdump, opt

    monkeypatch.chdir(tmp_path)
    table = tmp_path / "t.csv"
    table.write_text("Layer\tM\tN\tK\nfc1\t4\t8\t16\n")
    program = tmp_path / "l.npu"
    assert igoc_cli.main([str(layer), "--target", "edge", "-o", str(program)]) == 0
    toml = tmp_path / "mine.toml"
    toml.write_text('base = "edge"\n')
    calls = [
        (igoc_cli.main, [str(layer), "-o", "nowhere/../layer.mlir"], layer),
        (importer.main, [str(table), "-o", str(table)], table),
        (objdump.main, [str(program), "-o", "gone/../l.npu"], program),
        (opt.main, [str(layer), "-p", "conv-to-gemm", "-o", "./layer.mlir"], layer),
        (bench.main, ["--model", str(layer), "--target", "edge", "--json", str(layer)], layer),
        (bench.main, ["--model", "ncf", "--target", str(toml), "--csv", str(toml)], toml),
    ]
    for main, argv, victim in calls:
        before = victim.read_bytes()
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "is the input file" in err, err
        assert victim.read_bytes() == before


def test_refuse_input_only_refuses_one_regular_file(tmp_path):
    one, other = tmp_path / "a", tmp_path / "b"
    one.write_text("x")
    other.write_text("x")
    refuse_input(str(other), str(one), None, "-")  # another file
    refuse_input(str(tmp_path / "new"), str(one))  # not there yet
    refuse_input("-", "-")
    refuse_input(None, str(one))
    with pytest.raises(OutputError, match="is the input file"):
        refuse_input(str(one), "-", str(one))


def test_an_npu_output_of_a_pipeline_that_does_not_lower_is_bad_usage(capsys, layer, tmp_path):
    out = tmp_path / "x.npu"
    assert igoc_cli.main([str(layer), "--pipeline", "none", "-o", str(out)]) == 2
    assert "ends at stage 'grad', whose output is IR text" in capsys.readouterr().err
    assert igoc_cli.main([str(layer), "--target", "edge", "--emit", "npu", "-o", str(out)]) == 2
    assert "--emit npu prints IR text, not an NPU program" in capsys.readouterr().err
    assert not out.exists()


def test_an_npu_program_in_ir_form_is_not_compiled_again(capsys, layer, tmp_path):
    text = tmp_path / "npu.mlir"
    text.write_text(stage(capsys, layer, "npu"))
    assert igoc_cli.main([str(text), "-o", str(tmp_path / "x.npu")]) == 1
    err = capsys.readouterr().err
    assert "is an NPU program already" in err and "internal error" not in err
    # with no passes it is printed as it is
    assert igoc_cli.main([str(text), "--pipeline", "none"]) == 0
    assert "npu.program" in capsys.readouterr().out


def test_the_baseline_pipelines_refuse_fused_gradients(capsys, layer, tmp_path):
    """IR past fuse-gradients holds grad.interleaved ops: the baseline would run an
    interleaved schedule under its name, so it refuses them, at the op's line; the igo
    pipelines take them."""
    fused = tmp_path / "fused.mlir"
    text = stage(capsys, layer, "fused")
    fused.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "grad.interleaved" in t)
    for name in ("baseline", "baseline-paper", "baseline-window"):
        assert igoc_cli.main([str(fused), "--pipeline", name, "-o", str(tmp_path / "b.npu")]) == 1
        err = capsys.readouterr().err
        assert f"fused.mlir:{line}:" in err and f"the {name} pipeline keeps dX and dW apart" in err
    assert igoc_cli.main([str(fused), "--pipeline", "igo", "-o", str(tmp_path / "i.npu")]) == 0
    with pytest.raises(DiagnosticError, match="keeps dX and dW apart"):
        compile_text(fused.read_text(), "edge", "baseline")
    # a pass pipeline says what it runs: it is not refused
    compile_text(fused.read_text(), "edge", pass_pipeline="conv-to-gemm,tile,select-order")


def test_a_program_that_computes_nothing_is_said_so(capsys, tmp_path):
    """A function with no layer ops compiles (to a program that only halts) with a warning,
    and a check of it says there is nothing to compare, not that the compiler did not make
    it."""
    source, out = tmp_path / "noop.mlir", tmp_path / "noop.npu"
    source.write_text(
        "func.func @noop(%x: tensor<4x4xf16>) -> tensor<4x4xf16> {\n"
        "  func.return %x : tensor<4x4xf16>\n}\n"
    )
    assert igoc_cli.main([str(source), "--target", "edge", "-o", str(out)]) == 0
    assert "warning: the input has no layer ops" in capsys.readouterr().err
    assert sim_cli.main([str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "nothing to compare" in err and "only programs made by the compiler" not in err


def test_the_api_records_what_ran():
    """A program's meta names the pipeline that made it: an empty pass pipeline (nothing
    scheduled) is not recorded as igo, and no pipeline named is the default, igo."""
    text = LAYER
    assert compile_text(text, "edge", pass_pipeline="").meta["pipeline"] == ""
    assert compile_text(text, "edge", pipeline=None).meta["pipeline"] == "igo"  # type: ignore[arg-type]
    assert compile_text(text, "edge", "baseline").meta["pipeline"] == "baseline"


def test_the_api_raises_one_base_for_what_it_refuses(tmp_path):
    """Bad input, target and pipeline are each an ``IgocError`` with a one-line message;
    arguments of the wrong type are a ``TypeError`` naming the argument, not an error from
    deep inside; the file name is a keyword of ``compile_text``."""
    from igoc.api import compile_file, compile_module
    from igoc.errors import IgocError
    from igoc.pipeline import PipelineError
    from igoc.target import TargetError, load_target

    edge, nan = load_target("edge"), float("nan")

    refused = [
        (lambda: compile_text("x", "edge"), DiagnosticError),
        (lambda: compile_text(LAYER, "tpu"), TargetError),
        (lambda: compile_text(LAYER, "edge", "fast"), PipelineError),
        (lambda: compile_text(LAYER, "edge", pass_pipeline="tile{"), PipelineError),
        (lambda: compile_file(tmp_path / "missing.mlir", "edge"), DiagnosticError),
        (lambda: compile_text(LAYER, ""), TargetError),
        (lambda: compile_text(LAYER, dataclasses.replace(edge, cores=0)), TargetError),
        (lambda: compile_text(LAYER, dataclasses.replace(edge, dataflow="zz")), TargetError),
        (lambda: compile_text(LAYER, dataclasses.replace(edge, clock_mhz=nan)), TargetError),
    ]
    for call, kind in refused:
        with pytest.raises(kind) as caught:
            call()
        assert isinstance(caught.value, IgocError)
        assert "\n" not in str(caught.value)
    wrong = [
        (lambda: compile_text(b"func", "edge"), "text must be a string, not bytes"),
        (lambda: compile_text(LAYER, 3), "target must be an igoc.target.Target"),
        (lambda: compile_text(LAYER, "edge", ["igo"]), "pipeline must be a string or None"),
        (lambda: compile_module(LAYER, "edge"), "module must be a parsed module"),
        (lambda: compile_file(None, "edge"), "path must be a string or a path"),
        (lambda: compile_text(LAYER, "edge", session=5), "session must be an igoc.cost.session"),
    ]
    for call, message in wrong:
        with pytest.raises(TypeError, match=message):
            call()
    with pytest.raises(DiagnosticError, match=r"^layer\.mlir:1:1: error"):
        compile_text("x", "edge", filename="layer.mlir")
    path = tmp_path / "layer.mlir"
    path.write_text(LAYER)
    assert compile_file(path, "edge").meta["pipeline"] == "igo"
    preset = pathlib.Path(__file__).parents[2] / "igoc" / "target" / "presets" / "edge.toml"
    assert compile_file(path, preset).target == edge  # a target file by its path


def test_schedules_in_the_input_decided_again_are_a_warning(capsys, layer, tmp_path):
    """A scheduled input (an --emit output, perhaps edited by hand) compiled with a pipeline
    that decides schedules says so, and how to keep them; lowering it as it is, or a plain
    input, says nothing."""
    scheduled = tmp_path / "part.mlir"
    scheduled.write_text(stage(capsys, layer, "partitioned"))
    out = str(tmp_path / "x.npu")
    assert igoc_cli.main([str(scheduled), "--target", "edge", "-o", out]) == 0
    err = capsys.readouterr().err
    assert err == (
        "igoc: warning: the input's schedules (sched.schedule) are decided again from tile "
        "on; to lower them as they are: --pass-pipeline lower-to-npu\n"
    )
    for argv in ([str(scheduled), "--pass-pipeline", "lower-to-npu"], [str(layer)]):
        assert igoc_cli.main([*argv, "--target", "edge", "-o", out]) == 0
        assert "warning" not in capsys.readouterr().err
