"""Chrome trace events of a timed run: a process per core, a track per queue.

The file is the JSON object format (``{"traceEvents": [...]}``) that Perfetto and
``chrome://tracing`` open. Times are in microseconds of the target's clock; each
instruction is one complete event (``"ph": "X"``) on its queue's track. A DMA's
event spans from when it was ready to the end of its transfer (its latency is
left out, so a queue's events never overlap); a barrier spans from arrival to release.
"""

from __future__ import annotations

import json
import os

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.program import Program
from igoc.output import open_output
from igoc.sim.checks import KIND_NAMES
from igoc.sim.prepare import CoreCode
from igoc.sim.timing import CoreRunner

TRACKS = {
    Opcode.LOAD: (0, "load"),
    Opcode.GATHER: (0, "load"),
    Opcode.MATMUL: (1, "compute"),
    Opcode.STORE: (2, "store"),
    Opcode.SCATTER: (2, "store"),
    Opcode.BARRIER: (3, "sync"),
    Opcode.HALT: (3, "sync"),
}


def trace_events(program: Program, codes: list[CoreCode], runners: list[CoreRunner]) -> list[dict]:
    """The trace events of every instruction, with metadata naming processes and tracks."""
    us_per_cycle = 1.0 / program.target.clock_mhz
    latency = program.target.dram_latency_cycles
    events: list[dict] = []
    for code, r in zip(codes, runners, strict=True):
        core = code.core
        events.append(
            {"ph": "M", "pid": core, "name": "process_name", "args": {"name": f"core {core}"}}
        )
        for tid, name in ((0, "load"), (1, "compute"), (2, "store"), (3, "sync")):
            events.append(
                {"ph": "M", "pid": core, "tid": tid, "name": "thread_name", "args": {"name": name}}
            )
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
            args = {"index": i}
            if i in label_of:
                args["label"] = label_of[i]
            if code.tensor[i] >= 0:
                args["tensor"] = program.tensors[code.tensor[i]].name
                args["bytes"] = int(code.read_bytes[i] + code.write_bytes[i])
            events.append(
                {
                    "ph": "X",
                    "pid": core,
                    "tid": tid,
                    "name": KIND_NAMES[op],
                    "ts": round(start[i] * us_per_cycle, 6),
                    "dur": round(max(stop - start[i], 0.0) * us_per_cycle, 6),
                    "args": args,
                }
            )
    return events


def write_trace(path: str | os.PathLike, events: list[dict]) -> None:
    """Write the events as a Chrome trace JSON file (by ``igoc.output``'s rules)."""
    with open_output(path, binary=False) as f:
        json.dump({"traceEvents": events, "displayTimeUnit": "ns"}, f, separators=(",", ":"))
        f.write("\n")
