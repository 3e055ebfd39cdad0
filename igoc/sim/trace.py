"""Chrome trace events of a timed run: per core, its layers above a track per queue; DRAM in use.

The file is the JSON object format (``{"traceEvents": [...]}``) that Perfetto and
``chrome://tracing`` open. Times are whole cycles of the target's clock: one
microsecond of the trace is one cycle (``otherData`` says so, with the clock),
so what Perfetto shows as µs reads as cycles. Every start and end is rounded to
the nearest cycle by the same rule, so events that do not overlap in the
simulator never overlap in the trace.

- A process per core. On top, its layers: one slice per layer and direction
  (``conv1 forward``, ``conv1 backward``) from the first start to the last end
  of the layer's instructions on that core. Neighbouring layers overlap in
  time, so the slices are laid on as few tracks (``layers``, ``layers 2``...)
  as keep each track free of overlaps. Below, a track per queue (load,
  compute, store, sync) with one event per instruction: a DMA's from when it
  was ready to the end of its transfer (its latency left out, so a queue's
  events never overlap), a barrier's from arrival to release.
- A process ``DRAM channel`` with a counter of the bandwidth the shared
  channel carries, in GB/s: the full bandwidth while some transfer holds it,
  zero while it is idle.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.program import Program
from igoc.output import open_output
from igoc.sim.prepare import CoreCode
from igoc.sim.report import whole_cycles
from igoc.sim.timing import CoreRunner
from igoc.sim.validate import KIND_NAMES

TRACKS = {
    Opcode.LOAD: (0, "load"),
    Opcode.GATHER: (0, "load"),
    Opcode.MATMUL: (1, "compute"),
    Opcode.STORE: (2, "store"),
    Opcode.SCATTER: (2, "store"),
    Opcode.BARRIER: (3, "sync"),
    Opcode.HALT: (3, "sync"),
}
QUEUE_TRACKS = ((0, "load"), (1, "compute"), (2, "store"), (3, "sync"))
LAYER_TID = 100  # the first layer track; the next ones follow
FORWARD_OPS = ("matmul", "conv2d")
COUNTER = "DRAM bandwidth"


def tick(cycles: float) -> int:
    """A time in whole cycles, by the report's rule (``report.whole_cycles``): one rule for
    every time keeps the order of times, so neighbours that touch never overlap."""
    return whole_cycles(cycles)


def trace_events(
    program: Program,
    codes: list[CoreCode],
    runners: list[CoreRunner],
    channel_pieces: Iterable[tuple[float, float]] = (),
) -> list[dict]:
    """The trace events: metadata, layer slices, instructions, and the DRAM counter."""
    latency = program.target.dram_latency_cycles
    events: list[dict] = []
    layers = _layer_spans(program, runners)
    for code, r in zip(codes, runners, strict=True):
        core = code.core
        events.append(_meta(core, None, "process_name", {"name": f"core {core}"}))
        events.append(_meta(core, None, "process_sort_index", {"sort_index": core}))
        lanes = _lanes(layers.get(core, []))
        for lane in range(len(lanes)):
            name = "layers" if lane == 0 else f"layers {lane + 1}"
            events.append(_meta(core, LAYER_TID + lane, "thread_name", {"name": name}))
            events.append(_meta(core, LAYER_TID + lane, "thread_sort_index", {"sort_index": lane}))
        for tid, name in QUEUE_TRACKS:
            events.append(_meta(core, tid, "thread_name", {"name": name}))
            events.append(_meta(core, tid, "thread_sort_index", {"sort_index": len(lanes) + tid}))
        for lane, spans in enumerate(lanes):
            for start, end, name, args in spans:
                events.append(_span(core, LAYER_TID + lane, name, start, end, args))
        label_of = {}
        for lab in program.labels:
            if lab.core == core:
                for i in range(lab.first, lab.last + 1):
                    label_of.setdefault(i, lab.name)
        start = np.frombuffer(r.start, np.float64)
        end = np.frombuffer(r.end, np.float64)
        count = min(len(code.kind), r.pc + 1)
        for i in range(count):
            op = Opcode(code.kind[i])
            tid, _ = TRACKS[op]
            stop = (
                end[i] - latency
                if op in (Opcode.LOAD, Opcode.GATHER, Opcode.STORE, Opcode.SCATTER)
                else end[i]
            )
            args: dict = {"index": i}
            if i in label_of:
                args["label"] = label_of[i]
            if code.tensor[i] >= 0:
                args["tensor"] = program.tensors[code.tensor[i]].name
                args["bytes"] = int(code.read_bytes[i] + code.write_bytes[i])
            begin = tick(start[i])
            events.append(_span(core, tid, KIND_NAMES[op], begin, max(tick(stop), begin), args))
    events += _dram_counter(len(codes), program.target.dram_bandwidth_gb_per_s, channel_pieces)
    return events


def _meta(pid: int, tid: int | None, name: str, args: dict) -> dict:
    event = {"ph": "M", "pid": pid, "name": name, "args": args}
    if tid is not None:
        event["tid"] = tid
    return event


def _span(pid: int, tid: int, name: str, start: int, end: int, args: dict) -> dict:
    return {
        "ph": "X",
        "pid": pid,
        "tid": tid,
        "name": name,
        "ts": start,
        "dur": end - start,
        "args": args,
    }


Span = tuple[int, int, str, dict]  # start, end (whole cycles), name, args


def _layer_spans(program: Program, runners: list[CoreRunner]) -> dict[int, list[Span]]:
    """Per core: a span per layer and direction, over the labels of that layer's ops."""
    op_of_output = {
        output: op.get("op") for op in (program.reference or []) for output in op["outputs"]
    }
    names = list(op_of_output) + [t.name for t in program.tensors]
    qualified = bool(names) and all("." in name for name in names)
    found: dict[tuple[int, str, str], list[float]] = {}
    for lab in program.labels:
        runner = runners[lab.core]
        last = min(lab.last, runner.pc)
        if last < lab.first:
            continue  # never reached
        starts = np.frombuffer(runner.start, np.float64)[lab.first : last + 1]
        ends = np.frombuffer(runner.end, np.float64)[lab.first : last + 1]
        parts = lab.name.split("+")
        # A copy, a conversion or a zero fill (``dh:zero``) belongs with its tensor's op.
        ops = [op_of_output.get(part.split(":")[0]) for part in parts]
        if any(op is not None and op not in FORWARD_OPS for op in ops):
            direction = "backward"
        elif ops and all(op in FORWARD_OPS for op in ops):
            direction = "forward"
        else:
            direction = ""
        layer = parts[0].split(".", 1)[0] if qualified else ""
        if not direction:
            layer = lab.name
        span = found.setdefault((lab.core, layer, direction), [math.inf, -math.inf])
        span[0] = min(span[0], float(starts.min()))
        span[1] = max(span[1], float(ends.max()))
    spans: dict[int, list[Span]] = {}
    for (core, layer, direction), (start, end) in found.items():
        name = " ".join(part for part in (layer, direction) if part)
        args = {"layer": layer, "direction": direction} if direction else {"label": layer}
        spans.setdefault(core, []).append((tick(start), tick(end), name, args))
    return spans


def _lanes(spans: list[Span]) -> list[list[Span]]:
    """The spans on as few tracks as keep each free of overlaps (first fit, by start)."""
    lanes: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s[0], s[1], s[2])):
        for lane in lanes:
            if lane[-1][1] <= span[0]:
                lane.append(span)
                break
        else:
            lanes.append([span])
    return lanes


def _dram_counter(
    pid: int, bandwidth_gb_per_s: float, pieces: Iterable[tuple[float, float]]
) -> list[dict]:
    """The process of the DRAM channel and its counter: full bandwidth while busy, else zero."""
    busy: list[list[int]] = []
    for start, end in sorted(pieces):
        a, b = tick(start), tick(end)
        if b <= a:
            continue
        if busy and a <= busy[-1][1]:
            busy[-1][1] = max(busy[-1][1], b)
        else:
            busy.append([a, b])
    events = [
        _meta(pid, None, "process_name", {"name": "DRAM channel"}),
        _meta(pid, None, "process_sort_index", {"sort_index": pid}),
    ]
    value = round(bandwidth_gb_per_s, 6)
    for a, b in busy:
        events.append({"ph": "C", "pid": pid, "name": COUNTER, "ts": a, "args": {"GB/s": value}})
        events.append({"ph": "C", "pid": pid, "name": COUNTER, "ts": b, "args": {"GB/s": 0}})
    return events


def write_trace(
    path: str | os.PathLike, events: list[dict], clock_mhz: float | None = None
) -> None:
    """Write the events as a Chrome trace JSON file."""
    other = {"time_unit": "1 trace microsecond = 1 cycle of the target's clock"}
    if clock_mhz is not None:
        other["clock_mhz"] = clock_mhz  # type: ignore[assignment]
    with open_output(path, binary=False) as f:
        json.dump({"traceEvents": events, "otherData": other}, f, separators=(",", ":"))
        f.write("\n")
