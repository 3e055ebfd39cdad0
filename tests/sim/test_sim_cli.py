"""``igoc-sim`` on the command line: table, JSON, trace, inputs and outputs, --check."""

from __future__ import annotations

import json

import numpy as np
import pytest
from simkit import PROGRAMS, program_file

from igoc.cli.sim import main
from igoc.isa.asm import parse_assembly
from igoc.isa.npufile import write_npu


@pytest.fixture
def matmul_npu(tmp_path):
    path = tmp_path / "mm.npu"
    write_npu(program_file("04_matmul_os.s"), path)
    return path


def test_table_and_json(matmul_npu, capsys):
    assert main([str(matmul_npu)]) == 0
    table = capsys.readouterr().out
    assert "cycles            304" in table and "DRAM traffic by tensor" in table
    assert main([str(matmul_npu), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cycles"] == 304 and report["traffic"]["c"]["write"] == 128


def test_check_passes_and_prints_errors_per_output(matmul_npu, capsys):
    assert main([str(matmul_npu), "--check", "--json", "--seed", "3"]) == 0
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["passed"] and set(check["outputs"]) == {"c"}
    assert 0 <= check["outputs"]["c"]["max_rel_err"] < 1e-2
    assert main([str(matmul_npu), "--check"]) == 0
    assert "check: passed" in capsys.readouterr().out


def test_check_fails_on_a_wrong_program(tmp_path, capsys):
    """Drop the second K step: c holds only half of the sum, and --check says so."""
    text = (
        (PROGRAMS / "06_accumulate.s")
        .read_text()
        .replace("    matmul spm 0x200 f32 += spm 0x100 * spm 0x180 f16 m=8 k=8 n=8\n", "")
    )
    path = tmp_path / "wrong.npu"
    write_npu(parse_assembly(text), path)
    assert main([str(path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "check: FAILED" in out and "FAIL" in out.splitlines()[-1]


def test_inputs_outputs_and_trace(matmul_npu, tmp_path, capsys):
    a = np.arange(96, dtype=np.float32).reshape(8, 12) / 96
    b = np.eye(12, 8, dtype=np.float32)
    np.savez(tmp_path / "in.npz", a=a, b=b)
    args = [
        str(matmul_npu),
        "--inputs",
        str(tmp_path / "in.npz"),
        "--outputs",
        str(tmp_path / "out.npz"),
        "--trace",
        str(tmp_path / "t.json"),
    ]
    assert main(args) == 0
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_array_equal(out["c"], (a[:, :8]).astype(np.float16))
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert sum(e["ph"] == "X" and e["tid"] < 100 for e in events) == 5  # one per instruction


def test_same_seed_same_outputs(matmul_npu, tmp_path):
    for name in ("x.npz", "y.npz"):
        assert main([str(matmul_npu), "--outputs", str(tmp_path / name), "--seed", "7"]) == 0
    with np.load(tmp_path / "x.npz") as x, np.load(tmp_path / "y.npz") as y:
        np.testing.assert_array_equal(x["c"], y["c"])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"zz": np.ones(3)}, "'zz' is not an input tensor"),
        ({"a": np.ones((2, 2))}, "'a' has shape (2, 2), expected (8, 12)"),
    ],
)
def test_bad_inputs_are_one_line_errors(matmul_npu, tmp_path, capsys, arrays, message):
    np.savez(tmp_path / "in.npz", **arrays)
    assert main([str(matmul_npu), "--inputs", str(tmp_path / "in.npz")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_states_the_tolerance_rule(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "max|sim-ref| <= tol*max|ref|" in capsys.readouterr().out
