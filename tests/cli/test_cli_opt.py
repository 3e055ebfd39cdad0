"""igoc-opt: chosen passes on IR, split input files, exit codes."""

import io
import sys

import pytest
from clikit import LAYER

from igoc.cli import opt
from igoc.dialects.npu import module_target
from igoc.frontend import parse_text
from igoc.target import load_target


def run(capsys, *argv):
    status = opt.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def layer(tmp_path):
    path = tmp_path / "layer.mlir"
    path.write_text(LAYER)
    return path


def count(text: str, name: str) -> int:
    return sum(op.name == name for op in parse_text(text).walk())


def test_runs_the_passes_and_prints_the_ir(capsys, layer):
    status, out, err = run(capsys, layer, "-p", "cse")
    assert (status, err) == (0, "")
    assert count(out, "grad.matmul") == 1
    assert "igoc.target" not in out  # igoc-opt stamps a target only when asked


def test_no_passes_prints_the_verified_input(capsys, layer):
    status, out, _ = run(capsys, layer)
    assert status == 0 and count(out, "grad.matmul") == 2


def test_target_and_generic_and_output_file(capsys, layer, tmp_path):
    out_path = tmp_path / "out.mlir"
    status, out, _ = run(capsys, layer, "--target", "edge", "--generic", "-o", out_path)
    assert (status, out) == (0, "")
    text = out_path.read_text()
    assert text.startswith('"builtin.module"()')
    assert module_target(parse_text(text)) == load_target("edge")


def test_set_changes_the_given_target_or_the_inputs(capsys, layer, tmp_path):
    status, out, _ = run(capsys, layer, "--target", "server", "--set", "cores=4")
    assert status == 0
    target = module_target(parse_text(out))
    assert (target.name, target.cores) == ("server[cores=4]", 4)
    stamped = tmp_path / "stamped.mlir"
    stamped.write_text(out)
    status, out, _ = run(capsys, stamped, "--set", "psum_bytes=4")
    target = module_target(parse_text(out))
    assert (target.name, target.cores, target.psum_bytes) == ("server[cores=4][psum_bytes=4]", 4, 4)
    status, _, err = run(capsys, layer, "--set", "psum_bytes=3")
    assert status == 2 and "key 'psum_bytes' must be 2 or 4, got 3" in err


def test_print_ir_after_all(capsys, layer):
    status, _, err = run(capsys, layer, "-p", "cse,dce", "--print-ir-after-all")
    headers = [line for line in err.splitlines() if line.startswith("// -----//")]
    assert headers == [
        "// -----// IR Dump After cse //----- //",
        "// -----// IR Dump After dce //----- //",
    ]


def test_split_input_file_keeps_going_and_keeps_line_numbers(capsys, tmp_path):
    good = "func.func @ok() {\n  func.return\n}\n"
    bad = "func.func @bad() {\n  func.return %nope : i32\n}\n"
    path = tmp_path / "split.mlir"
    path.write_text(good + "// -----\n" + bad + "// -----\n" + good)
    status, out, err = run(capsys, path, "--split-input-file")
    assert status == 1
    assert out.count("func.func @ok()") == 2 and out.count("// -----\n") == 1
    assert err.splitlines()[0] == f"{path}:6:15: error: use of undefined value %nope"


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["{layer}", "-p", "nosuch"], 2, "unknown pass 'nosuch'"),
        (["{layer}", "-p", "cse{"], 2, "bad pass pipeline"),
        (["{layer}", "--target", "nowhere"], 2, "error: unknown target 'nowhere'"),
        (["{missing}"], 1, "no such file"),
    ],
)
def test_errors(capsys, layer, tmp_path, argv, status, message):
    names = {"{layer}": str(layer), "{missing}": str(tmp_path / "missing.mlir")}
    argv = [names.get(a, a) for a in argv]
    got, out, err = run(capsys, *argv)
    assert (got, out) == (status, "")
    assert message in err


def test_no_file_reads_standard_input(capsys, monkeypatch):
    """As ``mlir-opt`` and ``xdsl-opt`` do."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(LAYER.encode())))
    status, out, err = run(capsys, "-p", "cse")
    assert (status, err) == (0, "")
    assert "func.func @layer" in out and out.count("grad.matmul %x, %w") == 1


def test_list_passes(capsys):
    status, out, _ = run(capsys, "--list-passes")
    assert status == 0 and "  cse " in out and "pipelines:" in out
