"""``overlap = "serial"``: each core runs one instruction at a time, in program order.

The ablation's rule, checked against durations worked out here: a DMA of B bytes takes
``B / bytes_per_cycle`` on the channel and completes ``dram_latency_cycles`` later; the
next instruction of the core starts then. A core's time is the sum of its instructions'.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import pytest
from hypothesis import given, settings
from simkit import program_file, valid_programs

from igoc.isa.cycles import matmul_cycles
from igoc.isa.instructions import Load, Matmul, Store
from igoc.sim import simulate

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics"


def with_target(program, **changes):
    return dataclasses.replace(program, target=dataclasses.replace(program.target, **changes))


def test_one_instruction_at_a_time_on_one_core():
    """06_accumulate (16 B/cycle, 100 cycles of latency, SCALE-Sim's 4x4 OS array): four
    128-byte loads, 8 + 100 each; two 8x8x8 matmuls, 2*2*(8+4+4-2) = 56 each; a zero store
    of 128 bytes, 8 + 100; an accumulating store that reads and writes 128 bytes, 16 + 100.
    Double-buffered, the same program takes 344 cycles (test_sim_ladder)."""
    program = with_target(program_file("06_accumulate.s"), overlap="serial")
    report = simulate(program).report
    assert report["cycles"] == 4 * (8 + 100) + 2 * 56 + (8 + 100) + (16 + 100) == 768
    assert report["per_core"][0]["busy"] == {"load": 32, "compute": 112, "store": 24}
    assert report["labels"]["k_loop"] == {
        "start": 0,
        "end": 4 * 108 + 2 * 56,
        "cycles": 544,
        "dram_read_bytes": 512,
        "dram_write_bytes": 0,
        "macs": 1024,
    }
    # pipelined matmuls: 2*2 folds of 8 cycles + 3 + 3 + 4 = 42 each
    pipelined = with_target(program, array_timing="pipelined")
    assert simulate(pipelined).report["cycles"] == 768 - 2 * (56 - 42)


def test_two_serial_cores_share_the_channel():
    """08_two_cores_contend, serial: each core's loads are 108 cycles apart, so only the
    first two contend: core 0 [0,8] -> 108, core 1 [8,16] -> 116; then core 0 [108,116],
    [216,224], [324,332] -> 432 and core 1 [116,124], [224,232], [332,340] -> 440."""
    program = with_target(program_file("08_two_cores_contend.s"), overlap="serial")
    report = simulate(program).report
    assert [c["cycles"] for c in report["per_core"]] == [432, 440]
    assert report["cycles"] == 440
    assert [c["stalls"]["dram_bandwidth"] for c in report["per_core"]] == [0, 8]


def _duration(program, instruction) -> float:
    """An instruction's serial duration, from its fields and the target."""
    t = program.target
    if isinstance(instruction, Matmul):
        return matmul_cycles(instruction.m, instruction.k, instruction.n, t)
    if isinstance(instruction, Load | Store):
        elem = program.tensors[instruction.tensor].dtype.nbytes
        moved = instruction.rows * instruction.cols * elem
        if isinstance(instruction, Store) and instruction.accumulate:
            moved *= 2  # read, add, write back
        return moved / t.dram_bytes_per_cycle + t.dram_latency_cycles
    return 0.0  # halt, and a barrier that waits for no other core


@settings(max_examples=60)
@given(valid_programs(max_cores=1))
def test_a_serial_core_takes_the_sum_of_its_instructions(program):
    program = with_target(program, overlap="serial")
    total = sum(_duration(program, i) for i in program.streams[0])
    assert simulate(program).report["cycles"] == math.ceil(total - 1e-9)


@settings(max_examples=60)
@given(valid_programs(max_cores=1))
def test_serial_is_never_faster_than_double_buffered_on_one_core(program):
    """On several cores it can be (the next test): this holds for one."""
    serial = simulate(with_target(program, overlap="serial")).report
    overlapped = simulate(with_target(program, overlap="double-buffered")).report
    assert serial["cycles"] >= overlapped["cycles"]
    assert serial["traffic"] == overlapped["traffic"]


def test_on_two_cores_serial_can_finish_first():
    """09_overlap_anomaly (16 B/cycle, no latency; 8x8x8 matmuls of 56 cycles): the cores
    share the DRAM channel, first come first served. Double-buffered, core 0's store does
    not wait for its load and takes the channel at once (load 0-8, store 8-16), so core 1's
    load runs 16-24 and its matmul ends at 80. Serial, core 0's store waits for its load;
    core 1's load, ready first, runs 8-16 and its matmul ends at 72 (core 0's store 16-24).
    A scheduling anomaly, not an error: overlap lets a transfer off the critical path go
    first. Found by a thirty-times-longer search of the property above on several cores."""
    program = program_file("09_overlap_anomaly.s")
    mm = matmul_cycles(8, 8, 8, program.target)
    assert mm == 56
    overlapped = simulate(program).report
    serial = simulate(with_target(program, overlap="serial")).report
    assert [core["cycles"] for core in overlapped["per_core"]] == [16, 24 + mm]
    assert [core["cycles"] for core in serial["per_core"]] == [24, 16 + mm]
    assert serial["cycles"] < overlapped["cycles"]
    assert serial["traffic"] == overlapped["traffic"]


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.mlir")))
@pytest.mark.parametrize("target", ["edge", "server-2c"])
def test_serial_is_never_faster_on_the_basics_samples(sample, target):
    """Each bundled sample compiled for a preset and for the same preset with
    ``overlap = "serial"`` (whose cost model may choose other schedules): the serial program,
    run serially, is never faster; nor is the double-buffered program run serially."""
    from igoc.api import compile_file
    from igoc.target import load_spec

    path = str(SAMPLES / sample)
    overlapped = compile_file(path, target)
    serial_target = load_spec(target, [("overlap", "serial")]).target
    serial = compile_file(path, serial_target)
    base = simulate(overlapped).report["cycles"]
    assert simulate(serial).report["cycles"] >= base
    assert simulate(with_target(overlapped, overlap="serial")).report["cycles"] >= base
