"""The simulator's report: one JSON-able object, and the same as a text table."""

from __future__ import annotations

import math

import numpy as np

from igoc.isa.program import Program
from igoc.sim.prepare import CoreCode
from igoc.sim.timing import STALL_NAMES, CoreRunner

QUEUES = ("load", "compute", "store")

SCHEMA_VERSION = 1
"""The report's ``schema_version`` (``igoc/schemas/sim-report.schema.json``); a change that
removes or renames a key bumps it."""


def whole_cycles(value: float) -> int:
    """A time in whole cycles: the cycle in which it falls, counted as done (the report's and
    the trace's one rule)."""
    return math.ceil(value - 1e-9) if value > 0 else 0


def build_report(program: Program, codes: list[CoreCode], runners: list[CoreRunner]) -> dict:
    """The report of a timed run (see ``igoc/sim/README.md`` for every key)."""
    target = program.target
    finish = max((r.finish for r in runners), default=0.0)
    cycles = whole_cycles(finish)
    names = [t.name for t in program.tensors]
    read = np.zeros(len(names), np.int64)
    write = np.zeros(len(names), np.int64)
    per_core = []
    peaks = [0] * len(codes)  # per core's SPM, whichever core touched it
    for code in codes:
        for owner, peak in code.spm_peaks.items():
            if owner < len(peaks):
                peaks[owner] = max(peaks[owner], peak)
    stalls_total = [0.0] * 4
    macs_total = 0
    instructions = 0
    for code, r in zip(codes, runners, strict=True):
        dma = code.tensor >= 0
        np.add.at(read, code.tensor[dma], code.read_bytes[dma])
        np.add.at(write, code.tensor[dma], code.write_bytes[dma])
        macs = int(code.macs.sum())
        macs_total += macs
        count = len(code.kind)
        instructions += count
        for j in range(4):
            stalls_total[j] += r.stalls[j]
        per_core.append(
            {
                "core": code.core,
                "cycles": whole_cycles(r.finish),
                "instructions": count,
                "macs": macs,
                "busy": {q: round(b) for q, b in zip(QUEUES, r.busy, strict=True)},
                "stalls": {s: round(v) for s, v in zip(STALL_NAMES, r.stalls, strict=True)},
                "utilization": macs / (target.pes * cycles) if cycles else 0.0,
                "spm_peak_bytes": peaks[code.core],
            }
        )
    traffic = {name: {"read": int(read[i]), "write": int(write[i])} for i, name in enumerate(names)}
    return {
        "schema_version": SCHEMA_VERSION,
        "target": target.name,
        "cycles": cycles,
        "seconds": target.seconds(cycles),
        "instructions": instructions,
        "macs": macs_total,
        "dram_read_bytes": int(read.sum()),
        "dram_write_bytes": int(write.sum()),
        "traffic": traffic,
        "utilization": macs_total / (target.pes * target.cores * cycles) if cycles else 0.0,
        "stalls": {s: round(v) for s, v in zip(STALL_NAMES, stalls_total, strict=True)},
        "per_core": per_core,
        "spm_peak_bytes": max(peaks, default=0),
        "labels": _labels(program, codes, runners),
    }


def _labels(program: Program, codes: list[CoreCode], runners: list[CoreRunner]) -> dict:
    out: dict[str, dict] = {}
    for lab in program.labels:
        code, r = codes[lab.core], runners[lab.core]
        sl = slice(lab.first, lab.last + 1)
        start = float(np.min(np.frombuffer(r.start, np.float64)[sl]))
        end = float(np.max(np.frombuffer(r.end, np.float64)[sl]))
        entry = out.setdefault(
            lab.name,
            {"start": start, "end": end, "dram_read_bytes": 0, "dram_write_bytes": 0, "macs": 0},
        )
        entry["start"] = min(entry["start"], start)
        entry["end"] = max(entry["end"], end)
        entry["dram_read_bytes"] += int(code.read_bytes[sl].sum())
        entry["dram_write_bytes"] += int(code.write_bytes[sl].sum())
        entry["macs"] += int(code.macs[sl].sum())
    for entry in out.values():
        start, end = entry["start"], entry["end"]
        entry["start"] = math.floor(start + 1e-9)
        entry["end"] = whole_cycles(end)
        entry["cycles"] = entry["end"] - entry["start"]
    return {name: out[name] for name in sorted(out)}


def format_report(report: dict) -> str:
    """The report as a text table for people."""
    lines = [
        f"target            {report['target']}",
        f"cycles            {report['cycles']:,}",
        f"seconds           {report['seconds']:.6g}",
        f"instructions      {report['instructions']:,}",
        f"MACs              {report['macs']:,}",
        f"utilization       {report['utilization']:.1%}",
        f"DRAM read         {report['dram_read_bytes']:,} B",
        f"DRAM written      {report['dram_write_bytes']:,} B",
        f"SPM peak          {report['spm_peak_bytes']:,} B",
        "",
        "DRAM traffic by tensor",
        f"  {'tensor':<24} {'read B':>14} {'written B':>14}",
    ]
    for name, t in report["traffic"].items():
        lines.append(f"  {name:<24} {t['read']:>14,} {t['write']:>14,}")
    if report.get("read_once"):
        lines.append(
            "  (an oracle: re-reads of "
            + ", ".join(report["read_once"])
            + " were free; each element is charged once per core)"
        )
    lines += ["", "per core (cycles)"]
    head = f"  {'core':>4} {'cycles':>12} {'instr':>9} {'util':>6}"
    head += "".join(f" {'busy ' + q:>13}" for q in QUEUES)
    head += "".join(f" {'stall ' + s:>20}" for s in report["stalls"])
    lines.append(head)
    for c in report["per_core"]:
        row = (
            f"  {c['core']:>4} {c['cycles']:>12,} {c['instructions']:>9,} {c['utilization']:>6.1%}"
        )
        row += "".join(f" {c['busy'][q]:>13,}" for q in QUEUES)
        row += "".join(f" {c['stalls'][s]:>20,}" for s in report["stalls"])
        lines.append(row)
    if report.get("labels"):
        lines += [
            "",
            "labels",
            f"  {'label':<24} {'start':>12} {'cycles':>12} {'read B':>14} "
            f"{'written B':>14} {'MACs':>16}",
        ]
        for name, lab in report["labels"].items():
            lines.append(
                f"  {name:<24} {lab['start']:>12,} {lab['cycles']:>12,} "
                f"{lab['dram_read_bytes']:>14,} {lab['dram_write_bytes']:>14,} {lab['macs']:>16,}"
            )
    if "check" in report:
        check = report["check"]
        lines += [
            "",
            f"check: {'passed' if check['passed'] else 'FAILED'} (tolerance: {check['rule']})",
            f"  {'output':<24} {'max abs err':>12} {'max rel err':>12} {'scale':>12}  result",
        ]
        for name, o in check["outputs"].items():
            lines.append(
                f"  {name:<24} {o['max_abs_err']:>12.4g} {o['max_rel_err']:>12.4g} "
                f"{o['scale']:>12.4g}  {'ok' if o['passed'] else 'FAIL'}"
                + (
                    f" ({o['unwritten_elements']:,} elements never written)"
                    if o.get("unwritten_elements")
                    else ""
                )
            )
    return "\n".join(lines) + "\n"
