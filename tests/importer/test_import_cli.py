"""The igoc-import command: output, summary, exit codes; and its output in igoc and igoc-bench."""

from __future__ import annotations

import contextlib
import io

import onnxkit as kit
from onnx import helper

TOPOLOGY = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\nconv1, 10, 10, 3, 3, 3, 8, 1,\nconv2, 8, 8, 3, 3, 8, 8, 2,\n"
)


_run = kit.run_import


def _mlp(tmp_path) -> str:
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["h"], name="/fc1/Gemm", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="/act/Relu"),
        helper.make_node("Gemm", ["r", "w2"], ["y"], name="/fc2/Gemm", transB=1),
    ]
    built = kit.model(
        nodes,
        [kit.tensor("x", ["batch", 16])],
        [kit.out("y")],
        [kit.weight("w1", [32, 16]), kit.weight("w2", [8, 32])],
    )
    return kit.save(built, tmp_path / "mlp.onnx")


def test_import_writes_the_file_and_says_what_it_did(tmp_path):
    out = tmp_path / "mlp.mlir"
    status, stdout, stderr = _run(_mlp(tmp_path), "-o", str(out), "--batch", "4")
    assert status == 0 and stdout == ""
    assert stderr.count("\n") == 1
    assert "2 layers imported (2 linear) from mlp.onnx; 1 node skipped" in stderr
    text = out.read_text()
    assert "func.func @fc1_Gemm" in text and "func.func @fc2_Gemm" in text
    assert {p.name for p in tmp_path.iterdir()} == {"mlp.onnx", "mlp.mlir"}  # no temporary left


def test_without_an_output_the_text_goes_to_stdout(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TOPOLOGY)
    status, stdout, _ = _run(str(path), "-q")
    assert status == 0
    assert stdout.startswith("// t.csv: imported by igoc-import from a SCALE-Sim topology")
    status, _, stderr = _run(str(path), "-o", str(tmp_path / "t.mlir"))
    assert status == 0 and stderr.endswith("from t.csv; 0 rows skipped\n")  # a table's rows


def test_a_model_that_cannot_be_imported_is_one_line_and_exit_1(tmp_path):
    status, stdout, stderr = _run(_mlp(tmp_path), "-o", str(tmp_path / "out.mlir"))
    assert status == 1 and stdout == ""
    assert (
        stderr == "error: mlp.onnx: the batch ('batch') is symbolic in the model; give it "
        "with --batch N\n"
    )
    assert not (tmp_path / "out.mlir").exists()


def test_bad_usage_is_exit_2(tmp_path):
    model = _mlp(tmp_path)
    assert _run(model, "--batch", "0")[0] == 2
    status, _, stderr = _run(model, "--batch", "2", "--dim", "seq")
    assert status == 2 and "--dim takes NAME=SIZE" in stderr
    status, _, stderr = _run(model, "--dim", "seq=4", "--dim", "seq=5")
    assert status == 2 and "--dim seq is given twice; give it once" in stderr
    path = tmp_path / "t.csv"
    path.write_text(TOPOLOGY)
    status, _, stderr = _run(str(path), "--dim", "seq=4")
    assert status == 2 and "--dim applies to ONNX models only" in stderr


def test_the_output_compiles_and_runs_in_igoc_bench(tmp_path):
    """``igoc-bench --model OUT.mlir --layers``: the imported layers are the table's rows."""
    from igoc.cli.bench import main as bench

    out = tmp_path / "mlp.mlir"
    assert _run(_mlp(tmp_path), "-o", str(out), "--batch", "4", "-q")[0] == 0
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = bench(
            [
                "--model",
                str(out),
                "--target",
                "edge",
                "--pipeline",
                "baseline",
                "igo",
                "--layers",
                "--no-cache",
                "-q",
            ]
        )
    assert status == 0, stderr.getvalue()
    table = stdout.getvalue()
    assert "fc1_Gemm" in table and "fc2_Gemm" in table
