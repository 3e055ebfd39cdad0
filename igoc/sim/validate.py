"""Static checks of a stream: the first invalid instruction of a core and what is wrong.

Every check is a mask over the whole stream (numpy) with a function that words
the message for one instruction; the first instruction any mask flags is the
error, with the message of the first check that flags it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.program import Program
from igoc.sim.columns import Columns
from igoc.sim.errors import SimError

KIND_NAMES = {
    Opcode.LOAD: "load",
    Opcode.GATHER: "gather",
    Opcode.STORE: "store",
    Opcode.SCATTER: "scatter",
    Opcode.MATMUL: "matmul",
    Opcode.BARRIER: "barrier",
    Opcode.HALT: "halt",
}

Check = tuple[np.ndarray, Callable[[int], str]]


def spm_capacity(program: Program) -> int:
    """Bytes of SPM a core may address."""
    t = program.target
    return t.spm_bytes * t.cores if t.spm_shared else t.spm_bytes


def first_error(program: Program, core: int, c: Columns) -> SimError | None:
    """The first invalid instruction of core ``core``'s stream, or ``None``."""
    checks = _index_checks(program, c) + _dram_checks(program, c) + _im2col_checks(program, c)
    checks += _spm_checks(program, c) + _sync_checks(program, core, c)
    bad = np.zeros(c.n, bool)
    for mask, _ in checks:
        bad |= mask
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    message = next(words(i) for mask, words in checks if mask[i])
    return SimError(message, core, i, KIND_NAMES[Opcode(int(c.op[i]))])


def _index_checks(program: Program, c: Columns) -> list[Check]:
    n_tensors, n_convs = len(program.tensors), len(program.convs)
    halts = np.flatnonzero(c.op == Opcode.HALT)
    halt = int(halts[0]) if len(halts) else c.n
    return [
        (np.arange(c.n) > halt, lambda i: f"instruction after the halt at {halt}"),
        (
            c.is_dma & (c.tensor >= n_tensors),
            lambda i: f"tensor index {c.tensor[i]} does not exist",
        ),
        (
            c.is_im2col & (c.f4 >= n_convs),
            lambda i: f"conv index {c.f4[i]} does not exist ({n_convs} in the conv table)",
        ),
        (c.is_dma & ((c.rows == 0) | (c.cols == 0)), lambda i: "rows and cols must be positive"),
        (
            c.is_mm & ((c.f3 == 0) | (c.f4 == 0) | (c.f5 == 0)),
            lambda i: "m, k, n must be positive",
        ),
    ]


def _dram_checks(program: Program, c: Columns) -> list[Check]:
    """Loads and stores: the block must lie inside its tensor; a store's rows must not overlap."""
    numel = np.array([t.numel for t in program.tensors] + [1], np.float64)
    numel = numel[np.where(c.is_dma & (c.tensor < len(program.tensors)), c.tensor, -1)]
    extent = c.f5.astype(np.float64) + (c.rows - 1).astype(np.float64) * c.f6 + c.cols
    return [
        (
            c.is_block & (extent > numel),
            lambda i: (
                f"DRAM block [elem {c.raw('f5', i)}, rows {c.rows[i]} x cols {c.cols[i]}, "
                f"stride {c.raw('f6', i)}] ends past the {int(numel[i])} elements of tensor "
                f"'{program.tensors[c.tensor[i]].name}'"
            ),
        ),
        (
            c.is_store & (c.rows > 1) & (c.f6 < c.cols),
            lambda i: (
                f"rows of the block overlap in DRAM (stride {c.raw('f6', i)} < cols {c.cols[i]})"
            ),
        ),
    ]


def _im2col_checks(program: Program, c: Columns) -> list[Check]:
    """Gathers and scatters: the tensor must have the conv's NCHW shape, the tile must fit."""
    if not c.is_im2col.any():
        return []
    n_tensors, n_convs = len(program.tensors), len(program.convs)
    viewed = [(g.batch, g.channels, g.height, g.width) for g in program.convs]
    conv_rows = np.array([g.rows for g in program.convs] + [0], np.float64)
    conv_cols = np.array([g.cols for g in program.convs] + [0], np.float64)
    conv = np.where(c.is_im2col & (c.f4 < n_convs), c.f4, -1)
    shape_bad = np.zeros(c.n, bool)
    picked = np.flatnonzero(c.is_im2col & (c.tensor < n_tensors) & (c.f4 < n_convs))
    # each (tensor, conv) pair is compared once
    pairs, inverse = np.unique(c.tensor[picked] * n_convs + c.f4[picked], return_inverse=True)
    bad = [
        tuple(program.tensors[p // n_convs].shape) != viewed[p % n_convs] for p in pairs.tolist()
    ]
    shape_bad[picked] = np.array(bad, bool)[inverse.reshape(-1)]
    outside = (c.f5.astype(np.float64) + c.rows > conv_rows[conv]) | (
        c.f6.astype(np.float64) + c.cols > conv_cols[conv]
    )
    return [
        (
            shape_bad,
            lambda i: (
                f"tensor '{program.tensors[c.tensor[i]].name}' has shape "
                f"{tuple(program.tensors[c.tensor[i]].shape)}, conv {c.f4[i]} views "
                f"{viewed[c.f4[i]]}"
            ),
        ),
        (
            c.is_im2col & outside,
            lambda i: (
                f"tile [m {c.raw('f5', i)}, k {c.raw('f6', i)}] of {c.rows[i]} x {c.cols[i]} "
                f"lies outside the {int(conv_rows[conv[i]])} x {int(conv_cols[conv[i]])} "
                f"im2col matrix of conv {c.f4[i]}"
            ),
        ),
    ]


def _spm_checks(program: Program, c: Columns) -> list[Check]:
    """Every SPM operand inside the SPM; a matmul's C apart from its A and B."""
    capacity = spm_capacity(program)
    checks: list[Check] = []
    for start, end, what in (
        (c.start1, c.end1, "the SPM block"),
        (c.start2, c.end2, "matmul B"),
        (c.start3, c.end3, "matmul C"),
    ):
        checks.append(
            (
                end > capacity,
                lambda i, start=start, end=end, what=what: (
                    f"{what} at SPM [{start[i]:#x}, {int(end[i]):#x}) lies outside the SPM of "
                    f"{capacity} bytes"
                ),
            )
        )
    overlap_a = (c.start3 < c.end1) & (c.start1 < c.end3)
    overlap_b = (c.start3 < c.end2) & (c.start2 < c.end3)
    checks.append((c.is_mm & (overlap_a | overlap_b), lambda i: "C overlaps A or B in SPM"))
    return checks


def _sync_checks(program: Program, core: int, c: Columns) -> list[Check]:
    cores = program.target.cores
    mask = c.f1
    return [
        (
            c.is_barrier & (((mask >> core) & 1) == 0),
            lambda i: f"core mask {mask[i]:#x} leaves out core {core}",
        ),
        (
            c.is_barrier & ((mask >> cores) != 0),
            lambda i: f"core mask {mask[i]:#x} names cores this {cores}-core target lacks",
        ),
    ]
