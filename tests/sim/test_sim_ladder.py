"""The ladder: hand-written programs, each with its cycle count derived by hand.

All run on the ``tiny`` target of the programs' headers: a 4x4 array at 1 GHz,
DRAM at 16 GB/s = 16 bytes per cycle with 100 cycles of latency. A DMA of B
bytes occupies its queue and the channel for B/16 cycles; its data is usable
100 cycles after the transfer ends. A store's data is in DRAM (and the core's
halt may complete) 100 cycles after its transfer ends. The targets leave out
``array_timing``, so matmuls take SCALE-Sim's cycles; the last cases run two of them with
the presets' pipelined timing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from simkit import program_file, random_inputs

from igoc.isa.instructions import DType, Halt, Matmul
from igoc.isa.program import Program
from igoc.sim import simulate
from igoc.target import load_target


def run(name: str, functional: bool = True):
    program = program_file(name)
    inputs = random_inputs(program) if functional else None
    return program, inputs, simulate(program, functional=functional, inputs=inputs)


def test_load_store():
    """8x8 fp16 = 128 B: load [0, 8], usable at 108; store ready at 108 (RAW on SPM),
    transfer [108, 116], in DRAM at 216. Halt completes at 216."""
    _, inputs, result = run("01_load_store.s")
    assert result.report["cycles"] == 216
    assert result.report["traffic"]["a"] == {"read": 128, "write": 0}
    assert result.report["traffic"]["c"] == {"read": 0, "write": 128}
    np.testing.assert_array_equal(result.outputs["c"], inputs["a"])


def test_strided():
    """8 rows x 4 cols x 2 B = 64 B: load [0, 4] -> 104; store [104, 108] -> 208.
    Only the 64 bytes of the block are read, not the 8 x 16 tensor."""
    _, inputs, result = run("02_strided.s")
    assert result.report["cycles"] == 208
    assert result.report["dram_read_bytes"] == 64
    np.testing.assert_array_equal(result.outputs["c"], inputs["a"][:, 4:8])


def test_transposed():
    """Same bytes as the strided case: 64 B each way, 208 cycles; c is the block transposed."""
    _, inputs, result = run("03_transposed.s")
    assert result.report["cycles"] == 208
    np.testing.assert_array_equal(result.outputs["c"], inputs["a"][:, 0:4].T)


def test_matmul_output_stationary():
    """a: 8x12x2 = 192 B, load [0, 12] -> 112; b: 192 B, load [12, 24] -> 124.
    OS matmul m=8 k=12 n=8 on 4x4: ceil(8/4)*ceil(8/4)*(12+4+4-2) = 4*18 = 72, [124, 196].
    Store c (fp16 in DRAM): 128 B, [196, 204] -> 304."""
    program, inputs, result = run("04_matmul_os.s")
    assert result.report["cycles"] == 304
    assert result.report["per_core"][0]["busy"]["compute"] == 72
    expected = inputs["a"].astype(np.float32) @ inputs["b"].astype(np.float32)
    np.testing.assert_allclose(
        result.outputs["c"].astype(np.float32), expected, rtol=2e-3, atol=2e-3
    )


def test_matmul_weight_stationary():
    """As the OS case, but WS: ceil(k/4)*ceil(n/4)*(m + 2*4 + 4 - 2) = 3*2*18 = 108 cycles,
    [124, 232]; store [232, 240] -> 340."""
    _, inputs, result = run("05_matmul_ws.s")
    assert result.report["cycles"] == 340
    assert result.report["per_core"][0]["busy"]["compute"] == 108
    expected = inputs["a"].astype(np.float32) @ inputs["b"].astype(np.float32)
    np.testing.assert_allclose(
        result.outputs["c"].astype(np.float32), expected, rtol=2e-3, atol=2e-3
    )


def test_accumulate():
    """Four 128 B loads back to back: [0,8] [8,16] [16,24] [24,32], usable at 108, 116, 124, 132.
    Matmul 1 (OS, 8x8x8: 2*2*(8+6) = 56) waits for b0: [116, 172]. Matmul 2 needs a1, b1
    (ready by 132) and the compute queue: [172, 228]. The zero store that sets c to 0 needs
    nothing and takes the channel after the loads: [32, 40], complete at 140. The
    accumulating store reads and writes c after it: 256 B = 16 cycles, [228, 244] -> 344."""
    _, inputs, result = run("06_accumulate.s")
    report = result.report
    assert report["cycles"] == 344
    assert report["traffic"]["c"] == {"read": 128, "write": 128 + 128}
    # stalls: matmul 1 waited 116 for b0 (dma); matmul 2 started as soon as the queue freed
    assert report["stalls"]["dma"] >= 116
    assert report["labels"]["k_loop"]["start"] == 0
    assert report["labels"]["k_loop"]["end"] == 228
    expected = inputs["a"].astype(np.float32) @ inputs["b"].astype(np.float32)
    np.testing.assert_allclose(
        result.outputs["c"].astype(np.float32), expected, rtol=2e-3, atol=2e-3
    )


def test_two_cores_barrier():
    """Core 0: load [0, 8] -> 108, store [108, 116] -> 216, arrives at the barrier at 216.
    Core 1 arrives at 0 and waits; released at 216: load [216, 224] -> 324,
    store [324, 332] -> 432. Its load's queue was free from 0: 216 cycles of barrier stall."""
    _, inputs, result = run("07_two_cores_barrier.s")
    report = result.report
    assert report["cycles"] == 432
    assert report["per_core"][0]["cycles"] == 216
    assert report["per_core"][1]["cycles"] == 432
    assert report["per_core"][1]["stalls"]["barrier"] == 216
    np.testing.assert_array_equal(result.outputs["d"], inputs["a"])


def test_two_cores_contend():
    """Each core issues four 8-cycle loads at once on one 16 B/cycle channel. The channel
    alternates: core 0 gets [0,8] [16,24] [32,40] [48,56], core 1 [8,16] [24,32] [40,48]
    [56,64]. Last data usable at 156 (core 0) and 164 (core 1): 164 cycles, against
    4*8 + 100 = 132 for one core alone. Bandwidth stalls: core 0 3*8, core 1 4*8."""
    _, _, result = run("08_two_cores_contend.s", functional=False)
    report = result.report
    assert report["cycles"] == 164
    assert [c["cycles"] for c in report["per_core"]] == [156, 164]
    assert [c["stalls"]["dram_bandwidth"] for c in report["per_core"]] == [24, 32]
    assert report["stalls"]["dram_bandwidth"] == 56


def pipelined(name: str):
    """A ladder program on its target with the presets' pipelined array timing."""
    program = program_file(name)
    target = dataclasses.replace(program.target, array_timing="pipelined")
    return dataclasses.replace(program, target=target)


def test_matmul_output_stationary_pipelined():
    """As the OS case, with the folds back to back: 2*2 folds of k = 12 cycles, the last one
    using all 4 rows and columns, then the drain: 48 + 3 + 3 + 4 = 58, [124, 182];
    store [182, 190] -> 290."""
    program = pipelined("04_matmul_os.s")
    inputs = random_inputs(program)
    result = simulate(program, functional=True, inputs=inputs)
    assert result.report["per_core"][0]["busy"]["compute"] == 58
    assert result.report["cycles"] == 290
    expected = inputs["a"].astype(np.float32) @ inputs["b"].astype(np.float32)
    np.testing.assert_allclose(
        result.outputs["c"].astype(np.float32), expected, rtol=2e-3, atol=2e-3
    )


def test_matmul_weight_stationary_pipelined():
    """WS: the first weights in R = 4 cycles, then ceil(12/4)*ceil(8/4) = 6 folds of m = 8
    rows, the last using 4 rows (of k) and 4 columns (of n), then the drain:
    4 + 48 + 3 + 3 + 4 = 62, [124, 186]; store [186, 194] -> 294."""
    result = simulate(pipelined("05_matmul_ws.s"))
    assert result.report["per_core"][0]["busy"]["compute"] == 62
    assert result.report["cycles"] == 294


def test_a_program_without_the_keys_is_timed_as_scalesim():
    """The ladder's targets predate ``array_timing`` and ``overlap``: left out, they are
    SCALE-Sim's timing and overlapping queues (the cases above)."""
    target = program_file("04_matmul_os.s").target
    assert (target.array_timing, target.overlap) == ("scalesim", "double-buffered")


@pytest.mark.parametrize(
    ("dataflow", "timing", "expected"),
    [
        # 8 x 8 folds over m and n; the last uses all 128 rows and columns
        ("os", "pipelined", 64 * 511 + 127 + 127 + 128),  # 33,086, as mNPUsim counts
        ("os", "scalesim", 64 * (511 + 128 + 128 - 2)),
        # 4 x 8 folds over k and n; the last uses 511 - 384 = 127 rows and 128 columns
        ("ws", "pipelined", 128 + 32 * 1024 + 126 + 127 + 128),
        ("ws", "scalesim", 32 * (1024 + 2 * 128 + 128 - 2)),
    ],
)
def test_one_matmul_takes_its_formula(dataflow, timing, expected):
    """A 1024x511x1024 matmul alone on the server preset's 128x128 array."""
    target = dataclasses.replace(load_target("server"), dataflow=dataflow, array_timing=timing)
    stream = [Matmul(0x0, 0x100000, 0x200000, 1024, 511, 1024, DType.F16, DType.F32), Halt()]
    report = simulate(Program(target, [], [], [stream])).report
    assert report["cycles"] == report["per_core"][0]["busy"]["compute"] == expected
