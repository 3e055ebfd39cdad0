"""Invalid programs stop with the core, the instruction index and a clear message."""

from __future__ import annotations

import pytest
from simkit import tiny_target

from igoc.cli.sim import main as sim_main
from igoc.isa.instructions import (
    Barrier,
    ConvGeometry,
    DType,
    Gather,
    Halt,
    Load,
    Matmul,
    Scatter,
    Store,
)
from igoc.isa.npufile import write_npu
from igoc.isa.program import Program, layout_tensors
from igoc.sim import SimError, simulate

F16, F32 = DType.F16, DType.F32


def program(streams, cores=1, tensors=None, convs=()):
    tensors = tensors or layout_tensors(
        [
            ("a", "input", F16, (8, 8)),
            ("c", "output", F16, (8, 8)),
            ("x", "input", F16, (1, 2, 4, 4)),
        ]
    )
    return Program(tiny_target(cores=cores), tensors, list(convs), streams)


def error_of(prog, functional=False) -> SimError:
    with pytest.raises(SimError) as info:
        simulate(prog, functional=functional)
    return info.value


def test_spm_access_above_capacity():
    err = error_of(program([[Load(0, 0, 8, 8, 8, 65536 - 64, F16), Halt()]]))
    assert (err.core, err.index, err.kind) == (0, 0, "load")
    assert "outside the SPM of 65536 bytes" in err.message


def test_matmul_operand_outside_spm():
    prog = program([[Matmul(0, 0, 65400, 8, 8, 8, F16, F32), Halt()]])
    err = error_of(prog)
    assert err.index == 0 and "matmul C" in err.message


def test_dram_block_past_the_tensor():
    prog = program([[Load(0, 0, 8, 8, 8, 0, F16), Store(1, 8, 8, 8, 8, 0, F16), Halt()]])
    err = error_of(prog)
    assert (err.index, err.kind) == (1, "store")
    assert "tensor 'c'" in err.message and "64 elements" in err.message


def test_messages_give_a_field_as_the_record_holds_it():
    # The checks clip 64-bit fields to 2^62 to compute in int64; the messages do not.
    top = 2**64 - 1
    err = error_of(program([[Load(0, top, 1, 1, 8, 0, F16), Halt()]]))
    assert f"[elem {top}, rows 1 x cols 1, stride 8]" in err.message
    err = error_of(program([[Store(1, 0, 2, 8, top, 0, F16), Halt()]]))
    assert f"stride {top}]" in err.message
    conv = ConvGeometry(1, 2, 4, 4, 3, 3, 1, 1, 1, 1)
    err = error_of(program([[Gather(2, 0, top, 0, 1, 1, 0, F16)]], convs=[conv]))
    assert f"tile [m {top}, k 0]" in err.message


def test_bad_tensor_and_conv_index():
    err = error_of(program([[Load(7, 0, 1, 1, 1, 0, F16)]]))
    assert "tensor index 7" in err.message
    err = error_of(program([[Gather(2, 3, 0, 0, 1, 1, 0, F16)]]))
    assert "conv index 3" in err.message


def test_gather_shape_mismatch_and_tile_outside():
    conv = ConvGeometry(1, 2, 4, 4, 3, 3, 1, 1, 1, 1)
    err = error_of(program([[Gather(0, 0, 0, 0, 1, 1, 0, F16)]], convs=[conv]))
    assert "has shape (8, 8)" in err.message
    err = error_of(program([[Scatter(2, 0, 10, 0, 7, 1, 0, F16)]], convs=[conv]))
    assert "outside the 16 x 18 im2col matrix" in err.message


def test_read_of_unwritten_spm_in_functional_mode():
    prog = program([[Load(0, 0, 4, 8, 8, 0, F16), Store(1, 0, 8, 8, 8, 0, F16), Halt()]])
    simulate(prog)  # timing alone does not look at data
    err = error_of(prog, functional=True)
    assert (err.core, err.index) == (0, 1)
    assert "0x40, which was never written" in err.message


def test_instruction_after_halt_and_c_overlapping_a():
    err = error_of(program([[Halt(), Halt()]]))
    assert err.index == 1 and "after the halt" in err.message
    err = error_of(program([[Matmul(0, 512, 64, 8, 8, 8, F16, F32)]]))
    assert "C overlaps A or B" in err.message


def test_barrier_with_a_core_that_halts():
    prog = program([[Barrier(0, 3), Halt()], [Halt()]], cores=2)
    err = error_of(prog)
    assert (err.core, err.index) == (0, 0)
    assert "can never meet" in err.message and "core 1 halted" in err.message


def test_barriers_waiting_at_different_ids():
    prog = program(
        [[Barrier(0, 3), Barrier(1, 3), Halt()], [Barrier(1, 3), Barrier(0, 3), Halt()]], cores=2
    )
    err = error_of(prog)
    assert "can never meet" in err.message
    assert "core 0 waits at barrier 0" in err.message and "core 1 waits at barrier 1" in err.message


def test_barrier_masks_checked():
    err = error_of(program([[Barrier(0, 2)], [Halt()]], cores=2))
    assert "leaves out core 0" in err.message
    err = error_of(program([[Barrier(0, 5)], []], cores=2))
    assert "names cores" in err.message
    prog = program([[Barrier(0, 3), Halt()], [Barrier(0, 2), Halt()]], cores=2)
    assert "leaves out core 1" not in str(error_of(prog))


def test_single_core_barrier_alone_meets():
    result = simulate(program([[Barrier(4, 1), Halt()]]))
    assert result.report["cycles"] == 0


def test_cli_prints_one_line_and_exits_1(tmp_path, capsys):
    prog = program([[Load(0, 0, 8, 8, 8, 65536 - 64, F16), Halt()]])
    path = tmp_path / "bad.npu"
    write_npu(prog, path)
    assert sim_main([str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: core 0, instruction 0 (load): the SPM block at SPM [0xffc0")
    assert err.count("\n") == 1


def test_cli_refuses_files_that_are_not_programs(tmp_path, capsys):
    path = tmp_path / "junk.npu"
    path.write_bytes(b"hello, world" * 10)
    assert sim_main([str(path)]) == 1
    assert "not an igoc program" in capsys.readouterr().err
    assert sim_main([str(tmp_path / "missing.npu")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_check_without_reference_is_a_clear_error(tmp_path, capsys):
    prog = program([[Load(0, 0, 8, 8, 8, 0, F16), Store(1, 0, 8, 8, 8, 0, F16), Halt()]])
    path = tmp_path / "p.npu"
    write_npu(prog, path)
    assert sim_main([str(path), "--check"]) == 1
    assert "carries none" in capsys.readouterr().err


def test_functional_mode_on_tensors_too_large_for_memory():
    tensors = layout_tensors([("big", "input", F16, (2**20, 2**20))])
    prog = Program(tiny_target(), tensors, [], [[Load(0, 0, 1, 1, 1, 0, F16), Halt()]])
    assert simulate(prog).report["dram_read_bytes"] == 2
    err = error_of(prog, functional=True)
    assert "not enough memory" in err.message
