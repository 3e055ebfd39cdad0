"""The read-once oracle (``simulate(..., read_once=...)``): a re-read of a named tensor's
elements by the same core moves no bytes and books no time on the channel."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import tiny_target
from test_prepare import gather_programs

from igoc.api import compile_file
from igoc.isa import im2col
from igoc.isa.instructions import DType, Gather, Halt, Load, Store
from igoc.isa.program import Program, layout_tensors
from igoc.sim import SimError, simulate
from igoc.sim.prepare import prepare
from igoc.sim.readonce import charge_first_reads, output_gradients

F16 = DType.F16
SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics"


def _program(streams, cores=1):
    tensors = layout_tensors([("a", "input", F16, (8, 8)), ("b", "input", F16, (8, 8))])
    return Program(tiny_target(cores=cores), tensors, [], streams)


def test_a_block_read_again_moves_nothing_and_a_partial_overlap_only_its_new_rows():
    """16 B/cycle and 100 cycles of latency: three loads of 64 B each take 4 cycles apiece
    on the channel and the last completes at 12 + 100. Read once, the second (the same rows)
    moves nothing and the third (rows 2-5 after rows 0-3) only rows 4-5: 4 + 0 + 2 cycles."""
    stream = [
        Load(0, 0, 4, 8, 8, 0x000, F16),  # rows 0-3 of a
        Load(0, 0, 4, 8, 8, 0x100, F16),  # the same rows
        Load(0, 16, 4, 8, 8, 0x200, F16),  # rows 2-5
        Load(1, 0, 4, 8, 8, 0x300, F16),  # rows 0-3 of b, twice: b is not read-once
        Load(1, 0, 4, 8, 8, 0x400, F16),
        Halt(),
    ]
    program = _program([stream])
    plain = simulate(program).report
    oracle = simulate(program, read_once=["a"]).report
    assert plain["cycles"] == 5 * 4 + 100
    assert oracle["cycles"] == (4 + 0 + 2) + 2 * 4 + 100
    assert plain["traffic"]["a"]["read"] == 3 * 64
    assert oracle["traffic"]["a"]["read"] == 64 + 0 + 32
    assert oracle["traffic"]["b"] == plain["traffic"]["b"] == {"read": 128, "write": 0}


def test_columns_of_rows_already_read_are_free_and_a_transposed_load_counts_the_same():
    """A block is its elements, whatever its shape or whether it lands transposed: columns
    0-3 of rows 0-7 after rows 0-3 whole are new only in rows 4-7 (16 elements)."""
    stream = [
        Load(0, 0, 4, 8, 8, 0x000, F16),
        Load(0, 0, 8, 4, 8, 0x100, F16, transpose=True),
        Load(0, 4, 8, 4, 8, 0x200, F16),  # columns 4-7: rows 4-7 new
        Load(0, 0, 1, 64, 64, 0x300, F16),  # all of it as one row: nothing new
        Halt(),
    ]
    (code,) = prepare(_program([stream]))
    charge_first_reads(_program([stream]), [code], ["a"])
    assert code.read_bytes[:4].tolist() == [64, 32, 32, 0]
    assert code.dur[:4] == [4.0, 2.0, 2.0, 0.0]


def test_each_core_pays_for_its_own_first_read():
    """Two cores load the same block of a: each is charged it once, not again."""
    core = [Load(0, 0, 8, 8, 8, 0x000, F16), Load(0, 0, 8, 8, 8, 0x100, F16), Halt()]
    program = _program([list(core), list(core)], cores=2)
    report = simulate(program, read_once=["a"]).report
    assert report["traffic"]["a"]["read"] == 2 * 128


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_blocks_charge_the_elements_no_earlier_load_read(data):
    """Random blocks of a 16x16 tensor, rows that may overlap (a stride below the width):
    each load is charged the elements of its block that no earlier load read, counted here
    with Python sets, and the loads together the union of what they read."""
    stream, blocks = [], []
    for _ in range(data.draw(st.integers(1, 8))):
        stride = data.draw(st.integers(1, 20))
        cols = data.draw(st.integers(1, 16))
        rows = data.draw(st.integers(1, 6))
        last = (rows - 1) * stride + cols  # elements from the block's first to its last
        if last > 256:
            continue
        offset = data.draw(st.integers(0, 256 - last))
        stream.append(Load(0, offset, rows, cols, stride, 0, F16))
        blocks.append({offset + r * stride + c for r in range(rows) for c in range(cols)})
    tensors = layout_tensors([("a", "input", F16, (16, 16))])
    program = Program(tiny_target(), tensors, [], [stream + [Halt()]])
    (code,) = prepare(program)
    charge_first_reads(program, [code], ["a"])
    seen: set[int] = set()
    for i, block in enumerate(blocks):
        assert code.read_bytes[i] == 2 * len(block - seen)
        seen |= block


@settings(max_examples=100, deadline=None)
@given(gather_programs())
def test_gathers_charge_the_in_bounds_elements_not_read_since_last_written(program):
    """im2col tiles, padding and overlapping windows included: a gather is charged the
    elements no earlier gather read, unless a scatter wrote them since (then read again,
    they are fetched again); scatters are charged as they were."""
    stream = program.streams[0]
    (code,) = prepare(program)
    before = code.read_bytes.copy()
    charge_first_reads(program, [code], ["x"])
    seen: set[int] = set()
    for i, inst in enumerate(stream[:-1]):
        g = program.convs[inst.conv]
        flat, valid = im2col.tile_indices(g, inst.m_start, inst.rows, inst.k_start, inst.cols)
        elements = set(flat[valid].tolist())
        if isinstance(inst, Gather):
            assert code.read_bytes[i] == 2 * len(elements - seen)
            seen |= elements
        else:
            assert code.read_bytes[i] == before[i]
            seen -= elements


def test_what_the_core_writes_it_reads_again():
    """A store into rows 2-3 of a between two loads of rows 0-3: the second load is
    charged those two rows (32 B) and nothing else."""
    stream = [
        Load(0, 0, 4, 8, 8, 0x000, F16),
        Store(0, 16, 2, 8, 8, 0x100, F16),
        Load(0, 0, 4, 8, 8, 0x200, F16),
        Halt(),
    ]
    program = _program([stream])
    report = simulate(program, read_once=["a"]).report
    assert report["traffic"]["a"] == {"read": 64 + 32, "write": 32}
    assert report["read_once"] == ["a"]


def test_a_string_is_not_a_list_of_names():
    program = _program([[Load(0, 0, 1, 8, 8, 0, F16), Halt()]])
    with pytest.raises(TypeError, match="not one string"):
        simulate(program, read_once="a")


def test_an_unknown_tensor_is_an_error():
    program = _program([[Load(0, 0, 1, 8, 8, 0, F16), Halt()]])
    with pytest.raises(SimError, match="no tensor named 'dy'"):
        simulate(program, read_once=["dy"])


@pytest.mark.parametrize("sample", ["linear.mlir", "conv3x3.mlir", "conv-stride2.mlir"])
def test_a_compiled_layer_read_once_reads_its_dy_exactly_once(sample):
    """The output gradients are what dX and dW read; read once, each of dY's bytes is
    charged once, nothing else's traffic changes, and the step is no slower."""
    program = compile_file(SAMPLES / sample, "edge", "baseline-paper")
    gradients = output_gradients(program)
    assert gradients and all(name.endswith("dy") for name in gradients)
    plain = simulate(program).report
    oracle = simulate(program, read_once=gradients).report
    sizes = {t.name: t.nbytes for t in program.tensors}
    for name, traffic in oracle["traffic"].items():
        if name in gradients:
            assert traffic["read"] == sizes[name] <= plain["traffic"][name]["read"]
        else:
            assert traffic == plain["traffic"][name]
    assert oracle["cycles"] <= plain["cycles"]
