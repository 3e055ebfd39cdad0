"""Timing details: exact SPM and DRAM hazards, double buffering, stalls, the trace and the report.

Target ``tiny`` (see simkit): 16 B per cycle, 100 cycles of DRAM latency, a 4x4
output-stationary array with the presets' pipelined timing (a matmul's folds back to back:
``ceil(m/4) * ceil(n/4) * k + (R_used - 1) + (C_used - 1) + 4``); a 128-byte DMA takes 8
cycles on the channel.
"""

from __future__ import annotations

import json

from simkit import tiny_target

from igoc.isa.instructions import DType, Halt, Load, Matmul, Store
from igoc.isa.program import Label, Program, layout_tensors
from igoc.sim import simulate

F16, F32 = DType.F16, DType.F32
TENSORS = layout_tensors(
    [
        ("a", "input", F16, (8, 8)),
        ("b", "input", F16, (8, 8)),
        ("p", "psum", F16, (8, 8)),
        ("c", "output", F16, (8, 8)),
    ]
)


def run(stream, labels=(), **kw):
    program = Program(tiny_target(), TENSORS, [], [stream + [Halt()]], list(labels))
    return simulate(program, **kw).report


def test_dram_hazards_are_exact_per_block():
    """Load a [0,8] -> 108; store p rows 0-3 (64 B) ready at 108 (RAW on SPM), [108,112] -> 212.
    Load p rows 4-7 does not overlap the store: [8,12] -> 112. Load p rows 0-3 must wait
    for the store to land (DRAM RAW): [212,216] -> 316. A coarser, per-tensor check would
    give 320."""
    report = run(
        [
            Load(0, 0, 8, 8, 8, 0x0, F16),
            Store(2, 0, 4, 8, 8, 0x0, F16),
            Load(2, 32, 4, 8, 8, 0x100, F16),
            Load(2, 0, 4, 8, 8, 0x200, F16),
        ]
    )
    assert report["cycles"] == 316


def test_spm_hazards_are_exact_per_byte_range():
    """b -> 0x100 [0,8] -> 108; x -> [0x0,0x80) [8,16] -> 116; y -> [0x80,0x100) [16,24] -> 124.
    The matmul reads A = [0x40,0x80) (4x8 fp16), inside x only: ready at 116, not 124.
    OS 4x8x4, one fold using all 4 rows and 4 columns: 1*1*8 + 3 + 3 + 4 = 18 cycles,
    [116,134]; store of C (4x4 -> 32 B fp16) [134,136], lands at 236."""
    report = run(
        [
            Load(1, 0, 8, 8, 8, 0x100, F16),
            Load(0, 0, 8, 8, 8, 0x0, F16),
            Load(0, 0, 8, 8, 8, 0x80, F16),
            Matmul(0x40, 0x100, 0x200, 4, 8, 4, F16, F32),
            Store(3, 0, 4, 4, 8, 0x200, F32),
        ]
    )
    assert report["cycles"] == 236


def test_double_buffering_overlaps_and_reuse_waits():
    """Each matmul is 8x8x8: 2*2 folds of 8 cycles, the last using 4 rows and 4 columns:
    32 + 3 + 3 + 4 = 42 cycles. B [0,8] -> 108; A0 -> buf0 [8,16] -> 116; matmul 0
    [116,158]. A1 -> buf1 goes on at once: [16,24] -> 124; matmul 1 [158,200].
    A2 -> buf0 must wait until matmul 0 has read buf0 (WAR): [158,166] -> 266, a 134-cycle
    dependency stall of the load queue (free since 24); matmul 2 [266,308]."""
    report = run(
        [
            Load(1, 0, 8, 8, 8, 0x200, F16),
            Load(0, 0, 8, 8, 8, 0x0, F16),
            Matmul(0x0, 0x200, 0x400, 8, 8, 8, F16, F32),
            Load(0, 0, 8, 8, 8, 0x80, F16),
            Matmul(0x80, 0x200, 0x500, 8, 8, 8, F16, F32),
            Load(0, 0, 8, 8, 8, 0x0, F16),
            Matmul(0x0, 0x200, 0x400, 8, 8, 8, F16, F32),
        ],
        labels=[Label(0, 5, 6, "third"), Label(0, 0, 2, "first")],
    )
    assert report["cycles"] == 308
    core = report["per_core"][0]
    assert core["stalls"]["dependency"] == 134
    assert core["stalls"]["dma"] == 116 + (266 - 200)
    assert core["busy"] == {"load": 32, "compute": 3 * 42, "store": 0}
    assert report["labels"]["third"] == {
        "start": 158,
        "end": 308,
        "cycles": 150,
        "dram_read_bytes": 128,
        "dram_write_bytes": 0,
        "macs": 512,
    }
    assert list(report["labels"]) == ["first", "third"]
    assert report["utilization"] == 3 * 512 / (16 * 308)


def test_store_releases_spm_when_its_transfer_ends():
    """Load a [0,8] -> 108; store it [108,116] (lands at 216); a load into the same SPM
    bytes may start at 116, when the store has read them: [116,124] -> 224."""
    report = run(
        [
            Load(0, 0, 8, 8, 8, 0x0, F16),
            Store(3, 0, 8, 8, 8, 0x0, F16),
            Load(1, 0, 8, 8, 8, 0x0, F16),
        ]
    )
    assert report["cycles"] == 224


def test_report_has_every_key_and_is_json(tmp_path):
    trace = tmp_path / "t.json"
    program = Program(
        tiny_target(),
        TENSORS,
        [],
        [[Load(0, 0, 8, 8, 8, 0, F16), Store(3, 0, 8, 8, 8, 0, F16), Halt()]],
        [Label(0, 0, 1, "copy")],
    )
    report = simulate(program, trace_path=trace).report
    for key in (
        "cycles",
        "seconds",
        "instructions",
        "dram_read_bytes",
        "dram_write_bytes",
        "traffic",
        "utilization",
        "stalls",
        "per_core",
        "spm_peak_bytes",
        "labels",
        "macs",
    ):
        assert key in report
    assert set(report["stalls"]) == {"dma", "dependency", "dram_bandwidth", "barrier"}
    assert set(report["per_core"][0]["busy"]) == {"load", "compute", "store"}
    assert report["seconds"] == report["cycles"] / 1e9
    assert set(report["traffic"]) == {"a", "b", "p", "c"}
    json.dumps(report, allow_nan=False)
    events = json.loads(trace.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X" and e["tid"] < 100]
    assert [(e["name"], e["tid"]) for e in spans] == [("load", 0), ("store", 2), ("halt", 3)]
    assert spans[0]["ts"] == 0 and spans[0]["dur"] == 8  # whole cycles
    assert spans[1]["ts"] == 108 and spans[1]["args"]["tensor"] == "c"
    (label,) = [e for e in events if e["ph"] == "X" and e["tid"] >= 100]
    assert (label["name"], label["ts"], label["dur"]) == ("copy", 0, 216)  # store end + latency
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and "name" in e["args"]}
    assert {"core 0", "layers", "load", "compute", "store", "sync", "DRAM channel"} <= names


def test_gather_waits_for_a_scatter_to_the_same_tensor():
    """Through a 1x1 view, x (1, 2, 4, 4) is a 16 x 2 matrix (64 B in fp16). Load 64 B of a:
    [0,4] -> 104; scatter them into x: [104,108], in DRAM at 208; a gather of x must wait
    for that (DRAM RAW on the (n, c, h, w) box): [208,212] -> 312."""
    from igoc.isa.instructions import ConvGeometry, Gather, Scatter

    tensors = TENSORS + layout_tensors([("x", "output", F16, (1, 2, 4, 4))], 1024)
    stream = [
        Load(0, 0, 4, 8, 8, 0x0, F16),
        Scatter(4, 0, 0, 0, 16, 2, 0x0, F16, accumulate=False),
        Gather(4, 0, 0, 0, 16, 2, 0x100, F16),
        Halt(),
    ]
    program = Program(tiny_target(), tensors, [ConvGeometry(1, 2, 4, 4)], [stream])
    report = simulate(program).report
    assert report["cycles"] == 312
    assert report["traffic"]["x"] == {"read": 64, "write": 64}
