"""``igoc-sim`` and ``igoc-as`` refuse what they cannot do well, in one line, no traceback.

A seed is a non-negative whole number; an output never replaces an input; standard
output carries igoc-sim's report, so no trace or arrays go there too; inputs beyond
their type's range are named in a note, not in numpy's warnings. Every file is in a
temporary folder the test made.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from igoc.api import compile_file
from igoc.cli import asm, objdump, sim
from igoc.isa.npufile import MAGIC, write_npu

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONV = ROOT / "samples" / "basics" / "conv3x3.mlir"
REPLACE = "which it would replace"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> pathlib.Path:
    """conv3x3 compiled for edge (``c.npu``), and its assembly (``c.s``)."""
    folder = tmp_path_factory.mktemp("conv")
    write_npu(compile_file(str(CONV), "edge"), folder / "c.npu")
    with contextlib.redirect_stdout(io.StringIO()):
        assert objdump.main([str(folder / "c.npu"), "-o", str(folder / "c.s")]) == 0
    return folder


@pytest.fixture
def npu(folder, tmp_path) -> pathlib.Path:
    """A copy of the program that a test may lose."""
    path = tmp_path / "c.npu"
    path.write_bytes((folder / "c.npu").read_bytes())
    return path


def _run(main, argv: list[str]) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of a tool's ``main``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exit:  # argparse
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def _cli(tool: str, *argv, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """A tool run as a user runs it: its own process, stderr as printed."""
    code = f"import sys; from igoc.cli.{tool} import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )


# --seed


def test_a_negative_seed_is_bad_usage(npu):
    status, out, err = _run(sim.main, [npu, "--seed", "-1", "--check"])
    assert status == 2 and out == ""
    assert "Traceback" not in err and err.startswith("usage: igoc-sim")
    last = err.splitlines()[-1]
    assert last == "igoc-sim: error: argument --seed: must be a non-negative integer, not -1"


def test_a_huge_seed_runs_and_a_giant_one_is_refused_in_a_short_line(npu):
    status, out, err = _run(sim.main, [npu, "--seed", "9" * 200, "--check", "--json"])
    assert status == 0, err
    assert json.loads(out)["check"]["passed"]
    status, out, err = _run(sim.main, [npu, "--seed", "9" * 5000, "--check"])
    assert status == 2 and out == ""
    line = err.splitlines()[-1]
    assert line.startswith("igoc-sim: error: argument --seed: '99999") and len(line) < 200
    assert line.endswith("has 5,000 digits, too many for a number")


def test_a_seed_that_is_no_number_is_bad_usage(npu):
    status, _, err = _run(sim.main, [npu, "--seed", "one"])
    assert status == 2 and "argument --seed: 'one' is not a whole number" in err


# outputs that would replace inputs


@pytest.mark.parametrize("option", ["--trace", "--outputs"])
def test_igoc_sim_never_writes_over_its_program(npu, option):
    before = npu.read_bytes()
    status, out, err = _run(sim.main, [npu, option, npu])
    assert status == 1 and out == ""
    assert err == f"error: cannot write '{npu}': it is the input file '{npu}', {REPLACE}\n"
    assert npu.read_bytes() == before


@pytest.mark.parametrize("option", ["--trace", "--outputs"])
def test_igoc_sim_never_writes_over_its_inputs_even_through_a_link(npu, tmp_path, option):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, x=np.zeros((2, 16, 16, 16), np.float32))
    before = inputs.read_bytes()
    link = tmp_path / "link.npz"
    link.symlink_to(inputs)
    status, out, err = _run(sim.main, [npu, "--inputs", inputs, option, link])
    assert status == 1 and out == ""
    assert err.startswith(f"error: cannot write '{link}': it is the input file '{inputs}'")
    assert inputs.read_bytes() == before and link.is_symlink()


def test_igoc_sim_refuses_before_any_work(npu, tmp_path):
    """The program is not even read: a refused output fails fast and changes nothing."""
    trace = tmp_path / "t.json"
    status, _, err = _run(sim.main, [npu, "--trace", trace, "--outputs", npu])
    assert status == 1 and "it is the input file" in err
    assert not trace.exists()


def test_igoc_sim_still_writes_new_outputs(npu, tmp_path):
    outputs = tmp_path / "o.npz"
    status, _, err = _run(sim.main, [npu, "--trace", tmp_path / "t.json", "--outputs", outputs])
    assert status == 0, err
    assert set(np.load(outputs)) == {"y", "dx", "dw"}


def test_trace_and_outputs_of_one_file_are_bad_usage(npu, tmp_path, monkeypatch):
    """One file named for both (the second write would win), new or existing, by another
    spelling: refused before any work."""
    monkeypatch.chdir(tmp_path)
    both = tmp_path / "both.out"
    for exists in (False, True):
        if exists:
            both.write_text("kept")
        for second in ("both.out", "./both.out", both):
            status, out, err = _run(sim.main, [npu, "--trace", "both.out", "--outputs", second])
            assert status == 2 and out == ""
            assert f"--trace and --outputs both name '{second}'; give each its own file" in err
        assert both.exists() == exists
    assert both.read_text() == "kept"


def test_igoc_as_never_writes_over_its_source(folder, tmp_path):
    source = tmp_path / "c.s"
    source.write_bytes((folder / "c.s").read_bytes())
    before = source.read_bytes()
    status, out, err = _run(asm.main, [source, "-o", source])
    assert status == 1 and out == ""
    assert err == f"error: cannot write '{source}': it is the input file '{source}', {REPLACE}\n"
    assert source.read_bytes() == before
    status, _, err = _run(asm.main, [source, "-o", tmp_path / "c.npu"])
    assert status == 0, err
    assert (tmp_path / "c.npu").read_bytes().startswith(MAGIC)


# standard output carries the report


@pytest.mark.parametrize("option", ["--trace", "--outputs"])
@pytest.mark.parametrize("json_report", [False, True])
def test_igoc_sim_keeps_standard_output_for_the_report(npu, option, json_report):
    argv = [npu, option, "-"] + (["--json"] if json_report else [])
    status, out, err = _run(sim.main, argv)
    assert status == 2 and out == ""
    assert f"igoc-sim: error: argument {option}: " in err
    assert "standard output carries the report" in err


# inputs beyond their type's range


def test_inputs_beyond_f16_are_a_note_not_numpy_warnings(folder, tmp_path):
    big = tmp_path / "big.npz"
    np.savez(big, x=np.full((2, 16, 16, 16), 1e6, np.float32))
    run = _cli("sim", folder / "c.npu", "--inputs", big, "--check", "--json", cwd=tmp_path)
    assert run.returncode == 1  # the check fails, as it should
    check = json.loads(run.stdout)["check"]
    assert not check["passed"] and not check["outputs"]["y"]["passed"]
    assert check["outputs"]["dx"]["passed"]  # dx reads no x
    assert run.stderr == (
        "igoc-sim: note: input 'x' has values outside f16's range, which become inf\n"
    )


def test_no_note_for_inputs_within_range_or_infinite_in_the_file(folder, tmp_path):
    """An infinity the file holds is what the user gave: no note for it."""
    given = tmp_path / "given.npz"
    np.savez(given, x=np.full((2, 16, 16, 16), np.inf, np.float32), dy=np.ones((2, 32, 16, 16)))
    run = _cli("sim", folder / "c.npu", "--inputs", given, "--check", cwd=tmp_path)
    assert run.returncode == 1 and "check: FAILED" in run.stdout
    assert run.stderr == ""
