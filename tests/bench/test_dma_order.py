"""Loads placed ahead of the stores before them: only where nothing conflicts, and the
program computes the same."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from igoc.api import compile_file
from igoc.bench import dma_order
from igoc.isa.instructions import DType, Halt, Load, Matmul, Store
from igoc.isa.program import Program, layout_tensors
from igoc.sim import simulate
from igoc.sim.compare import generate_inputs
from igoc.target import load_target

F16, F32 = DType.F16, DType.F32
SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics"


def test_a_load_passes_stores_it_does_not_conflict_with_and_nothing_else():
    """Indices: 0 load a, 1 matmul, 2 store c (SPM 0x200-0x27f), 3 store d (0x300-0x37f),
    4 load b into 0x400 (passes both stores), 5 store c again, 6 load b into 0x200 (the
    SPM bytes store 5 reads: stays), 7 store d, 8 load d (d's tensor: stays)."""
    tensors = layout_tensors(
        [(name, "input" if name in "ab" else "output", F16, (8, 8)) for name in "abcd"]
    )
    stream = [
        Load(0, 0, 8, 8, 8, 0x000, F16),
        Matmul(0x000, 0x000, 0x200, 8, 8, 8, F16, F16, False),
        Store(2, 0, 8, 8, 8, 0x200, F16),
        Store(3, 0, 8, 8, 8, 0x300, F16),
        Load(1, 0, 8, 8, 8, 0x400, F16),
        Store(2, 0, 8, 8, 8, 0x200, F16),
        Load(1, 0, 8, 8, 8, 0x200, F16),
        Store(3, 0, 8, 8, 8, 0x300, F16),
        Load(3, 0, 8, 8, 8, 0x500, F16),
        Halt(),
    ]
    program = Program(load_target("edge"), tensors, [], [stream])
    moved, count = dma_order.hoist_loads(program)
    assert count == 1
    assert list(moved.streams[0]) == [stream[i] for i in (0, 1, 4, 2, 3, 5, 6, 7, 8, 9)]


def _same_run(program, moved):
    """Both programs on the same inputs: every DRAM tensor and unwritten count equal."""
    inputs = generate_inputs(program, seed=1)
    before = simulate(program, functional=True, inputs=inputs)
    after = simulate(moved, functional=True, inputs=inputs)
    assert before.tensors.keys() == after.tensors.keys()
    for name, values in before.tensors.items():
        np.testing.assert_array_equal(after.tensors[name], values, err_msg=name)
    assert after.unwritten == before.unwritten


@pytest.mark.parametrize("target", ["edge", "server-4c"])
@pytest.mark.parametrize("sample", ["conv3x3.mlir", "train-step.mlir"])
@pytest.mark.parametrize("pipeline", ["baseline", "igo-paper"])
def test_loads_first_computes_the_same(sample, target, pipeline):
    program = compile_file(SAMPLES / sample, target, pipeline)
    moved, count = dma_order.hoist_loads(program)
    assert count > 0  # something moved: the check means something
    assert [len(s) for s in moved.streams] == [len(s) for s in program.streams]
    _same_run(program, moved)


def test_loads_first_keeps_partial_sums_spilled_and_read_back():
    """A 32 KiB SPM: dW's partial sums go to DRAM and come back, and loads move around
    those stores without passing one of their own tensor."""
    target = load_target("edge", [("spm_bytes", 32768)])
    program = compile_file(SAMPLES / "conv3x3.mlir", target, "baseline")
    assert any(t.role == "psum" for t in program.tensors)
    moved, count = dma_order.hoist_loads(program)
    assert count > 0 and moved.labels == []
    _same_run(program, moved)


def test_the_command_reports_both_orders(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert dma_order.main(["--target", "edge", "--model", "NCF", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "edge       ncf" in table and "edge: igo's mean reduction" in table
    document = json.loads(out.read_text())
    (row,) = document["rows"]
    assert document["regime"] == "strong" and (row["network"], row["target"]) == ("ncf", "edge")
    assert row["ratio"] == row["igo"]["cycles"] / row["baseline"]["cycles"]
    assert f"{row['ratio']:.4f}" in table
