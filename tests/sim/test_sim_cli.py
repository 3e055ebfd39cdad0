"""``igoc-sim`` on the command line: table, JSON, trace, inputs and outputs, --check."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from simkit import PROGRAMS, program_file

from igoc.cli.sim import main, returning_freed_memory
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


def test_check_is_the_same_with_tensors_kept_for_outputs(matmul_npu, tmp_path, capsys):
    """--outputs keeps every tensor to the end; without it each is compared and let go as
    the program finishes it: the same check."""
    assert main([str(matmul_npu), "--check", "--json", "--seed", "5"]) == 0
    streamed = json.loads(capsys.readouterr().out)["check"]
    kept = tmp_path / "out.npz"
    assert main([str(matmul_npu), "--check", "--json", "--seed", "5", "--outputs", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out)["check"] == streamed


def test_an_interrupted_check_stops_what_runs_beside_it(matmul_npu, monkeypatch, capsys):
    """Ctrl-C during a checked run: one line, exit status 130, the check's thread stopped
    and no draw left to run."""
    import igoc.cli.sim as cli

    seen = {}

    def interrupted(program, **kwargs):
        seen["inputs"] = kwargs["inputs"]
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "simulate", interrupted)
    assert main([str(matmul_npu), "--check"]) == 130
    assert capsys.readouterr().err == "igoc-sim: interrupted\n"
    assert not [t for t in threading.enumerate() if t.name == "igoc-check"]
    drawings = list(seen["inputs"].values())
    assert drawings and all(d.draws.started for d in drawings)  # no run will start them


def test_returning_freed_memory_calls_done_with_the_same_arguments():
    seen = []
    hook = returning_freed_memory(lambda *args: seen.append(args))
    values = np.zeros(3)
    hook("t", values, 2)
    assert len(seen) == 1 and seen[0][0] == "t" and seen[0][1] is values and seen[0][2] == 2


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


# ---- --inputs that are not what they should be ---------------------------------------------


def _inputs_error(npu, path, capsys) -> str:
    assert main([str(npu), "--inputs", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_a_npy_file_is_not_an_archive(matmul_npu, tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((8, 12), np.float32))
    err = _inputs_error(matmul_npu, tmp_path / "a.npy", capsys)
    assert "is a .npy file (one array)" in err and "numpy.savez" in err


def test_a_truncated_archive(matmul_npu, tmp_path, capsys):
    np.savez(tmp_path / "in.npz", a=np.ones((8, 12), np.float32), b=np.ones((12, 8)))
    data = (tmp_path / "in.npz").read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        err = _inputs_error(matmul_npu, tmp_path / "cut.npz", capsys)
        assert "cut.npz" in err


@pytest.mark.parametrize(
    "member, data, message",
    [
        ("a.npy", b"plain text, not an array", "'a' is not .npy data"),
        ("a", b"\x93NUMPY\x01\x00", "'a' cannot be read"),
        ("b.npy", None, "'b' ends early"),
    ],
)
def test_a_member_that_is_not_npy_data(matmul_npu, tmp_path, capsys, member, data, message):
    if data is None:  # a header that promises 12 x 8 float64, and 10 bytes of them
        buffer = io.BytesIO()
        np.save(buffer, np.ones((12, 8)))
        data = buffer.getvalue()[: -(12 * 8 * 8) + 10]
    with zipfile.ZipFile(tmp_path / "in.npz", "w") as archive:
        archive.writestr(member, data)
    assert message in _inputs_error(matmul_npu, tmp_path / "in.npz", capsys)


def test_object_arrays_are_refused_before_unpickling(matmul_npu, tmp_path, capsys):
    values = np.empty((8, 12), dtype=object)
    values[:] = 1.0
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "in.npz", "w") as archive:
        archive.writestr("a.npy", buffer.getvalue())
    assert "holds object, not numbers" in _inputs_error(matmul_npu, tmp_path / "in.npz", capsys)


def test_an_archive_that_would_decompress_beyond_its_tensor(matmul_npu, tmp_path, capsys):
    """Refused from the zip directory: nothing of the member is decompressed."""
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", bytes(16 << 20))
    assert (tmp_path / "bomb.npz").stat().st_size < 1 << 20

    def never(*args, **kwargs):
        raise AssertionError("a member was opened")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", never)
        err = _inputs_error(matmul_npu, tmp_path / "bomb.npz", capsys)
    assert "'a' holds 16,777,216 bytes, more than an array of shape (8, 12) can take" in err


def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_json_stays_json_with_nan_or_inf_in_the_data(matmul_npu, tmp_path, capsys, bad):
    a = np.ones((8, 12), np.float32)
    a[3, 4] = bad
    np.savez(tmp_path / "in.npz", a=a, b=np.ones((12, 8), np.float32))
    status = main([str(matmul_npu), "--inputs", str(tmp_path / "in.npz"), "--check", "--json"])
    report = _strict_json(capsys.readouterr().out)
    assert status == 1 and report["check"]["passed"] is False
    assert report["check"]["outputs"]["c"]["max_abs_err"] is None


def test_dash_reads_the_program_from_standard_input(matmul_npu, capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(matmul_npu.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cycles"] == 304


def test_objdump_reads_standard_input(matmul_npu, capsys, monkeypatch):
    from igoc.cli import objdump

    assert objdump.main([str(matmul_npu)]) == 0
    from_file = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(matmul_npu.read_bytes())))
    assert objdump.main(["-"]) == 0
    assert capsys.readouterr().out == from_file


LOADED = """
import contextlib, io, sys
from igoc.cli.sim import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(sys.argv[1:])
wanted = ("igoc.reference", "igoc.sim.compare", "igoc.sim.functional", "igoc.sim.inputs",
          "igoc.sim.trace")
print(status, sorted(m for m in wanted if m in sys.modules))
"""


def test_a_timing_run_loads_no_module_of_runs_on_data(matmul_npu, tmp_path):
    """The reference, the check, functional mode and traces load when asked for."""

    def loaded(*args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", LOADED, str(matmul_npu), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    assert loaded() == "0 []"
    assert loaded("--trace", str(tmp_path / "t.json")) == "0 ['igoc.sim.trace']"
    assert "'igoc.reference', 'igoc.sim.compare', 'igoc.sim.functional'" in loaded("--check")


def test_only_a_timing_run_keeps_freed_memory(matmul_npu, monkeypatch, capsys):
    """A timing run asks glibc to keep freed blocks; a run on data returns them instead."""
    import ctypes

    calls = []

    class Libc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

        def malloc_trim(self, pad: int) -> int:
            return 0

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    assert main([str(matmul_npu)]) == 0
    assert calls == [(-1, 256 << 20), (-3, 32 << 20)]  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    calls.clear()
    assert main([str(matmul_npu), "--check"]) == 0
    assert calls == []
    capsys.readouterr()


def test_read_once_dy_charges_each_byte_of_dy_once(tmp_path, capsys):
    """A compiled layer whose dY the baseline reads more than once: with --read-once-dy the
    report charges dY's bytes once, says so, and leaves the other tensors' traffic."""
    import pathlib

    from igoc.api import compile_file

    sample = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics" / "linear.mlir"
    program = compile_file(sample, "edge", "baseline-noreuse")
    path = tmp_path / "linear.npu"
    write_npu(program, path)
    assert main([str(path), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([str(path), "--json", "--read-once-dy"]) == 0
    oracle = json.loads(capsys.readouterr().out)
    assert oracle["read_once"] == ["dy"] and "read_once" not in plain
    dy = next(t for t in program.tensors if t.name == "dy")
    assert plain["traffic"]["dy"]["read"] > dy.nbytes == oracle["traffic"]["dy"]["read"]
    assert oracle["cycles"] < plain["cycles"]
    for name in ("x", "w", "dx", "dw"):
        assert oracle["traffic"][name] == plain["traffic"][name]
    assert main([str(path), "--read-once", "dy"]) == 0
    assert "re-reads of dy were free" in capsys.readouterr().out
    # given twice, the option adds its names; with --read-once-dy, dY is named once
    twice = ["--read-once", "dy", "--read-once", "x", "--read-once-dy"]
    assert main([str(path), "--json", *twice]) == 0
    assert json.loads(capsys.readouterr().out)["read_once"] == ["dy", "x"]


def test_read_once_errors(matmul_npu, capsys):
    assert main([str(matmul_npu), "--read-once", "a", "nope"]) == 2  # bad usage
    err = capsys.readouterr().err
    assert "no tensor named 'nope' in" in err and err.rstrip().endswith("its tensors: a, b, c")
    assert main([str(matmul_npu), "--read-once-dy"]) == 1  # a forward matmul alone
    assert "the program has no output gradient" in capsys.readouterr().err


def test_read_once_dy_without_reference_ops(tmp_path, capsys):
    path = tmp_path / "plain.npu"
    write_npu(program_file("01_load_store.s"), path)
    assert main([str(path), "--read-once-dy"]) == 1
    assert "--read-once-dy needs the program's reference ops" in capsys.readouterr().err
