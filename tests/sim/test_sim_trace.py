"""The Chrome trace: whole-cycle times without overlaps, layer slices on top, DRAM use counter."""

from __future__ import annotations

import collections
import json
import pathlib

import pytest

from igoc.api import compile_file
from igoc.sim import simulate

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = [
    ("basics/train-step.mlir", "edge"),
    ("basics/mlp.mlir", "server-2c"),
    ("models/dlrm-b4.mlir", "edge"),
]


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-{t}" for s, t in CASES])
def traced(request, tmp_path_factory):
    sample, target = request.param
    program = compile_file(str(ROOT / "samples" / sample), target, "igo")
    path = tmp_path_factory.mktemp("trace") / "t.json"
    report = simulate(program, trace_path=path).report
    return program, report, json.loads(path.read_text())


def _tracks(events: list[dict]) -> dict[tuple[int, int], list[dict]]:
    tracks = collections.defaultdict(list)
    for event in events:
        if event["ph"] == "X":
            tracks[(event["pid"], event["tid"])].append(event)
    return tracks


def test_times_are_whole_cycles_and_no_neighbours_overlap(traced):
    program, report, trace = traced
    assert trace["otherData"]["clock_mhz"] == program.target.clock_mhz
    for events in _tracks(trace["traceEvents"]).values():
        for event in events:
            assert isinstance(event["ts"], int) and isinstance(event["dur"], int)
            assert event["ts"] >= 0 and event["dur"] >= 0
        events.sort(key=lambda e: (e["ts"], e["dur"]))
        for before, after in zip(events, events[1:], strict=False):
            assert before["ts"] + before["dur"] <= after["ts"], (before, after)
    last = max(e["ts"] + e["dur"] for e in trace["traceEvents"] if e["ph"] == "X")
    assert last == report["cycles"]


def test_every_instruction_is_one_event_on_its_queue(traced):
    program, report, trace = traced
    queued = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["tid"] < 100]
    assert len(queued) == report["instructions"]


def test_layer_slices_lie_above_the_queues_and_cover_their_labels(traced):
    program, report, trace = traced
    events = trace["traceEvents"]
    sort_index = {
        (e["pid"], e["tid"]): e["args"]["sort_index"]
        for e in events
        if e["ph"] == "M" and e["name"] == "thread_sort_index"
    }
    slices = [e for e in events if e["ph"] == "X" and e["tid"] >= 100]
    assert slices
    for event in slices:
        above = [sort_index[(event["pid"], tid)] for tid in range(4)]
        assert sort_index[(event["pid"], event["tid"])] < min(above)
    functions = {label.name.split(".")[0] for label in program.labels}
    directions = {(e["args"].get("layer"), e["args"].get("direction")) for e in slices}
    qualified = all("." in label.name for label in program.labels)
    if qualified:
        assert {layer for layer, _ in directions} == functions
    expected = {_direction(program, label.name) for label in program.labels}
    assert {direction for _, direction in directions} == expected
    for event in slices:  # every labelled instruction of the layer lies inside its slice
        layer = event["args"]["layer"]
        inside = [
            e
            for e in events
            if e["ph"] == "X"
            and e["tid"] < 100
            and e["pid"] == event["pid"]
            and (not qualified or e["args"].get("label", "").split(".")[0] == layer)
            and _direction(program, e["args"].get("label", "")) == event["args"]["direction"]
        ]
        assert inside
        for e in inside:
            assert event["ts"] <= e["ts"] and e["ts"] + e["dur"] <= event["ts"] + event["dur"]


def _direction(program, label: str) -> str:
    ops = {out: op["op"] for op in program.reference for out in op["outputs"]}
    kinds = [ops.get(part) for part in label.split("+")]
    return "forward" if all(k in ("matmul", "conv2d") for k in kinds) else "backward"


def test_the_dram_counter_carries_every_byte(traced):
    program, report, trace = traced
    counter = [e for e in trace["traceEvents"] if e["ph"] == "C"]
    values = [e["args"]["GB/s"] for e in counter]
    full = program.target.dram_bandwidth_gb_per_s
    assert values == [full, 0] * (len(values) // 2)  # busy, idle, busy, idle...
    times = [e["ts"] for e in counter]
    assert times == sorted(times) and all(isinstance(t, int) for t in times)
    busy = sum(end - start for start, end in zip(times[::2], times[1::2], strict=True))
    bytes_per_cycle = full * 1e9 / (program.target.clock_mhz * 1e6)
    moved = report["dram_read_bytes"] + report["dram_write_bytes"]
    intervals = len(times) // 2
    assert abs(busy * bytes_per_cycle - moved) <= bytes_per_cycle * (intervals + 1)
