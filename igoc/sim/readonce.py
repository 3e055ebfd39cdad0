"""An oracle, not a machine: tensors whose every element crosses the DRAM link at most once.

``simulate(program, read_once=names)`` charges a load or gather of a named tensor
only for the elements that its core has not read from that tensor before: a
re-read moves no bytes and books no time on the channel (it still issues, and
its data is usable ``dram_latency_cycles`` after it starts, like any DMA). The
program is the same; only what its DMAs cost changes, so the run says how fast
that schedule would be if those re-reads came from somewhere for free.

It is the paper's motivating oracle (a backward pass that reads dY only once),
measured on igoc's own schedules by ``python -m igoc.bench.dyonce``.
Each core counts its own first reads (on several cores a dY element that two
cores load is charged to both; what a core writes to the tensor it must read
again), and elements are counted exactly: the 2-D block of a load, the
in-bounds elements of a gather's im2col tile.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.im2col import tile_indices

if TYPE_CHECKING:
    from igoc.isa.program import Program
    from igoc.sim.prepare import CoreCode


def output_gradients(program: Program) -> list[str]:
    """The output gradients (dY) of the program's source: what its dX and dW ops read.

    From ``Program.reference``: the first operand of ``matmul_dx``/``conv2d_dx``, the second
    of ``matmul_dw``/``conv2d_dw``; empty for a program without a source.
    """
    found: dict[str, None] = {}
    for op in program.reference or []:
        if op["op"].endswith("_dx"):
            found[op["inputs"][0]] = None
        elif op["op"].endswith("_dw"):
            found[op["inputs"][1]] = None
    return list(found)


def charge_first_reads(program: Program, codes: list[CoreCode], names: Collection[str]) -> None:
    """Charge each core's loads and gathers of the tensors ``names`` only for elements it
    has not read before (in stream order): their DRAM bytes and transfer cycles, in place.

    A core's own store or scatter to such a tensor makes the elements it writes unread
    again (its next read of them fetches the new values). Other cores' writes are not
    seen: the oracle is meant for tensors the program reads, such as dY.

    ``ValueError`` for a name that is no tensor of the program.
    """
    if isinstance(names, str):
        raise TypeError("read_once takes a collection of tensor names, not one string")
    index = {t.name: i for i, t in enumerate(program.tensors)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise ValueError(f"read-once: no tensor named {', '.join(map(repr, unknown))}")
    per_cycle = program.target.dram_bytes_per_cycle
    for code in codes:
        op = code.records["op"]
        reads = (op == Opcode.LOAD) | (op == Opcode.GATHER)
        writes = (op == Opcode.STORE) | (op == Opcode.SCATTER)
        for name in dict.fromkeys(names):
            t = index[name]
            picked = np.flatnonzero((reads | writes) & (code.tensor == t))
            if not reads[picked].any():
                continue
            decl = program.tensors[t]
            # per element, 0 until read; a load marks the unread elements it reads with
            # their positions 1, 2, ... in its list: an element listed twice keeps one of
            # its marks, found at one position only, so it is counted once
            marks = np.zeros(int(np.prod(decl.shape, dtype=np.int64)), np.int32)
            for i in picked.tolist():
                elements = _elements(program, code.records[i])
                if writes[i]:
                    marks[elements] = 0  # written: read again, it is fetched again
                    continue
                fresh = elements[marks[elements] == 0]
                stamp = np.arange(1, len(fresh) + 1, dtype=np.int32)
                marks[fresh] = stamp
                moved = int(np.count_nonzero(marks[fresh] == stamp)) * decl.dtype.nbytes
                code.read_bytes[i] = moved
                code.dur[i] = moved / per_cycle


def _elements(program: Program, record) -> np.ndarray:
    """Flat indices of the tensor elements a DMA moves (an im2col tile's may repeat)."""
    rows, cols = int(record["f2"]), int(record["f3"])
    if record["op"] in (Opcode.LOAD, Opcode.STORE):
        offset, stride = int(record["f5"]), int(record["f6"])
        if rows > 1 and stride < cols:  # rows that meet: one run from the first to the last
            return np.arange(offset, offset + (rows - 1) * stride + cols, dtype=np.int64)
        starts = offset + stride * np.arange(rows, dtype=np.int64)
        return (starts[:, None] + np.arange(cols, dtype=np.int64)).ravel()
    geometry = program.convs[int(record["f4"])]
    flat, valid = tile_indices(geometry, int(record["f5"]), rows, int(record["f6"]), cols)
    return flat[valid]
