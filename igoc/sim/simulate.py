"""``simulate``: time a program and, when asked, run it on data."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from igoc.isa.program import Program, ProgramError, check_program
from igoc.sim.channel import Channel
from igoc.sim.errors import SimError
from igoc.sim.prepare import prepare
from igoc.sim.report import build_report
from igoc.sim.timing import run_timing


@dataclass
class SimResult:
    """What a run gives: the report, and in functional mode the final DRAM tensors."""

    report: dict  # the JSON-able report (igoc/sim/README.md lists its keys)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # output-role tensors by name
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # every DRAM tensor by name
    unwritten: dict[str, int] = field(default_factory=dict)  # elements never written, not inputs


def simulate(
    program: Program,
    *,
    functional: bool = False,
    inputs: dict | None = None,
    trace_path: str | os.PathLike | None = None,
    done: Callable[[str, np.ndarray, int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    read_once: Collection[str] = (),
) -> SimResult:
    """Simulate ``program``; ``SimError`` for an invalid one.

    ``functional`` runs it on data: ``inputs`` maps input tensor names to arrays
    (values rounded to each tensor's type; inputs left out start at zero, every other
    tensor holds old data that the program must not read before it writes it).
    ``trace_path`` writes Chrome trace events there. ``done`` (functional mode) is handed
    each tensor when the program is done with it, ``done(name, values, never_written)``,
    which is then let go (not in ``tensors`` or ``outputs``): a check that compares
    tensors as they are finished holds only those in flight (``compare.StreamingCheck``).
    Input arrays the program never writes are used as given, without a copy. An input
    may also be a ``Drawing`` (``compare.generate_inputs(background=True)``): its draws
    start here, in the order the program first reads the inputs, and each is waited for
    when first read. ``on_progress(executed, total)`` (functional mode) is told now and
    then how many instructions have run on data. ``read_once`` names tensors whose
    re-reads are free, an oracle (``igoc.sim.readonce``): each core's loads and gathers of
    them are charged only for elements that core has not read before; the report's
    ``read_once`` then lists them.
    """
    try:
        check_program(program)
    except ProgramError as err:
        raise SimError(f"invalid program: {err}") from None
    codes = prepare(program)
    if read_once:
        from igoc.sim.readonce import charge_first_reads  # only for the oracle

        try:
            charge_first_reads(program, codes, read_once)
        except ValueError as err:
            raise SimError(str(err)) from None
        read_once = list(dict.fromkeys(read_once))
    channel = Channel(record=trace_path is not None)
    runners = run_timing(
        codes,
        float(program.target.dram_latency_cycles),
        [t.shape for t in program.tensors],
        channel,
        serial=program.target.overlap == "serial",
    )
    report = build_report(program, codes, runners)
    if read_once:
        report["read_once"] = read_once
    if trace_path is not None:
        from igoc.sim.trace import trace_events, write_trace  # only for a trace

        events = trace_events(program, codes, runners, channel.pieces or [])
        write_trace(trace_path, events, program.target.clock_mhz)
    result = SimResult(report)
    if functional:
        from igoc.sim.blas import one_blas_thread  # only for a run on data
        from igoc.sim.functional import first_reads, run_functional
        from igoc.sim.inputs import Drawing

        given = dict(inputs or {})
        decls = {t.name: t for t in program.tensors}
        for name, value in given.items():
            if name not in decls:
                raise SimError(f"input '{name}' is not a tensor of the program")
            if decls[name].role != "input":
                raise SimError(f"tensor '{name}' is not an input (its role is {decls[name].role})")
            shape = value.shape if isinstance(value, Drawing) else tuple(np.shape(value))
            if shape != decls[name].shape:
                raise SimError(
                    f"input '{name}' has shape {shape}, the program declares {decls[name].shape}"
                )
        drawings = {name: v for name, v in given.items() if isinstance(v, Drawing)}
        if drawings:  # drawn in the order the program first reads them
            order = [program.tensors[t].name for t in first_reads(program, codes)]
            for draws in {id(d.draws): d.draws for d in drawings.values()}.values():
                draws.start(
                    [drawings[n] for n in order if n in drawings and drawings[n].draws is draws]
                )
        with one_blas_thread():  # the same sums on every machine (``igoc.sim.blas``)
            dram, result.unwritten = run_functional(program, codes, given, done, on_progress)
        for t, values in zip(program.tensors, dram, strict=True):
            if values is None:
                continue  # handed to ``done``
            array = values.reshape(t.shape)
            result.tensors[t.name] = array
            if t.role == "output":
                result.outputs[t.name] = array
    return result
