"""Static analysis of a program before it runs: checks, costs and SPM segments per instruction.

Everything that does not depend on time is computed here, with numpy over whole
streams: the first invalid instruction of each core (with its message), the DRAM
bytes each DMA reads and writes, the cycles of each matmul, the SPM byte ranges
each instruction touches (as runs of *elementary segments*: the address space cut
at every range boundary the core uses, so that hazard tracking is exact and costs
one list lookup per range in the common case), and the DRAM footprints of DMAs on
tensors that the core both reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.instructions import DType
from igoc.isa.program import Program, records_of
from igoc.sim import im2col
from igoc.sim.compute import matmul_cycles
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

_NBYTES = np.zeros(256, np.int64)
for _d in DType:
    _NBYTES[int(_d)] = _d.nbytes


@dataclass
class CoreCode:
    """One core's stream, analysed: per-instruction lists the timing loop reads."""

    core: int
    records: np.ndarray
    kind: list[int]  # opcode
    dur: list[float]  # matmul cycles, or DMA transfer cycles (bytes / bytes per cycle)
    s1: list[int]  # first SPM segment of the DMA block or of matmul A
    e1: list[int]  # one past its last segment
    s2: list[int]  # matmul B
    e2: list[int]
    s3: list[int]  # matmul C
    e3: list[int]
    segments: int  # elementary SPM segments of this core
    single_segment: bool  # every range is exactly one segment (buffers reused whole)
    track: list[int]  # tensor index when the DMA needs DRAM hazard checks, else -1
    footprints: dict[int, tuple] = field(default_factory=dict)  # per tracked DMA
    tensor: np.ndarray | None = None  # tensor index per instruction (-1: none)
    read_bytes: np.ndarray | None = None  # DRAM bytes read per instruction
    write_bytes: np.ndarray | None = None  # DRAM bytes written per instruction
    macs: np.ndarray | None = None  # multiply-accumulates per instruction
    spm_peak_bytes: int = 0  # largest SPM end address touched
    error: SimError | None = None  # the first invalid instruction, if any
    halt_index: int = -1  # index of the Halt, or -1 (an implicit one at the end)


def _cols(rec: np.ndarray) -> dict[str, np.ndarray]:
    cap = np.uint64(2**62)
    out = {}
    for name in rec.dtype.names:
        col = rec[name]
        if col.dtype == np.uint64:
            col = np.minimum(col, cap)
        out[name] = col.astype(np.int64)
    return out


def spm_capacity(program: Program) -> int:
    """Bytes of SPM a core may address."""
    t = program.target
    return t.spm_bytes * t.cores if t.spm_shared else t.spm_bytes


def prepare(program: Program) -> list[CoreCode]:
    """Analyse every core's stream; invalid instructions are recorded in ``CoreCode.error``."""
    t = program.target
    bpc = t.dram_bytes_per_cycle
    tensor_numel = np.array([x.numel for x in program.tensors] + [1], np.float64)
    tensor_bytes = np.array([x.dtype.nbytes for x in program.tensors] + [0], np.int64)
    return [
        _prepare_core(program, c, rec, tensor_numel, tensor_bytes, bpc)
        for c, rec in enumerate(records_of(program))
    ]


def _prepare_core(program, core, rec, tensor_numel, tensor_bytes, bpc) -> CoreCode:
    t = program.target
    n = len(rec)
    f = _cols(rec)
    op = f["op"]
    is_load, is_gather = op == Opcode.LOAD, op == Opcode.GATHER
    is_store, is_scatter = op == Opcode.STORE, op == Opcode.SCATTER
    is_block = is_load | is_store
    is_im2col = is_gather | is_scatter
    is_dma = is_block | is_im2col
    is_mm = op == Opcode.MATMUL
    is_bar = op == Opcode.BARRIER
    n_tensors, n_convs = len(program.tensors), len(program.convs)
    tensor = np.where(is_dma, f["f0"], -1)
    rows, cols = f["f2"], f["f3"]
    capacity = spm_capacity(program)

    checks: list[tuple[np.ndarray, object]] = []
    halts = np.flatnonzero(op == Opcode.HALT)
    halt_index = int(halts[0]) if len(halts) else -1
    after_halt = np.arange(n) > (halt_index if halt_index >= 0 else n)
    checks.append((after_halt, lambda i: f"instruction after the halt at {halt_index}"))
    checks.append(
        (is_dma & (tensor >= n_tensors), lambda i: f"tensor index {tensor[i]} does not exist")
    )
    checks.append(
        (
            is_im2col & (f["f4"] >= n_convs),
            lambda i: f"conv index {f['f4'][i]} does not exist ({n_convs} in the conv table)",
        )
    )
    checks.append(
        (is_dma & ((rows == 0) | (cols == 0)), lambda i: "rows and cols must be positive")
    )
    checks.append(
        (
            is_mm & ((f["f3"] == 0) | (f["f4"] == 0) | (f["f5"] == 0)),
            lambda i: "m, k, n must be positive",
        )
    )
    safe_t = np.where(is_dma & (tensor < n_tensors), tensor, n_tensors)
    numel = tensor_numel[safe_t]
    extent = f["f5"].astype(np.float64) + (rows - 1).astype(np.float64) * f["f6"] + cols
    checks.append(
        (
            is_block & (extent > numel),
            lambda i: (
                f"DRAM block [elem {f['f5'][i]}, rows {rows[i]} x cols {cols[i]}, stride "
                f"{f['f6'][i]}] ends past the {int(numel[i])} elements of tensor "
                f"'{program.tensors[tensor[i]].name}'"
            ),
        )
    )
    checks.append(
        (
            is_store & (rows > 1) & (f["f6"] < cols),
            lambda i: f"rows of the block overlap in DRAM (stride {f['f6'][i]} < cols {cols[i]})",
        )
    )
    _check_im2col(program, f, is_im2col, tensor, n_tensors, n_convs, checks)

    # SPM ranges (bytes) of every operand
    dt0 = _NBYTES[f["dt0"]]
    dt1 = _NBYTES[f["dt1"]]
    dma_size = rows.astype(np.float64) * cols * dt0
    a_size = f["f3"].astype(np.float64) * f["f4"] * dt0
    b_size = f["f4"].astype(np.float64) * f["f5"] * dt0
    c_size = f["f3"].astype(np.float64) * f["f5"] * dt1
    start1 = np.where(is_mm, f["f0"], np.where(is_dma, f["f1"], 0))
    size1 = np.where(is_mm, a_size, np.where(is_dma, dma_size, 0.0))
    start2 = np.where(is_mm, f["f1"], 0)
    size2 = np.where(is_mm, b_size, 0.0)
    start3 = np.where(is_mm, f["f2"], 0)
    size3 = np.where(is_mm, c_size, 0.0)
    for start, size, what in (
        (start1, size1, "the SPM block"),
        (start2, size2, "matmul B"),
        (start3, size3, "matmul C"),
    ):
        end = start + size
        checks.append(
            (
                end > capacity,
                lambda i, start=start, end=end, what=what: (
                    f"{what} at SPM [{start[i]:#x}, {int(end[i]):#x}) lies outside the SPM of "
                    f"{capacity} bytes"
                ),
            )
        )
    end1, end2, end3 = start1 + size1, start2 + size2, start3 + size3
    overlap_a = is_mm & (start3 < end1) & (start1 < end3)
    overlap_b = is_mm & (start3 < end2) & (start2 < end3)
    checks.append((overlap_a | overlap_b, lambda i: "C overlaps A or B in SPM"))
    mask = f["f1"]
    own = (mask >> core) & 1
    checks.append((is_bar & (own == 0), lambda i: f"core mask {mask[i]:#x} leaves out core {core}"))
    checks.append(
        (
            is_bar & ((mask >> t.cores) != 0),
            lambda i: f"core mask {mask[i]:#x} names cores this {t.cores}-core target lacks",
        )
    )

    bad = np.zeros(n, bool)
    for m, _ in checks:
        bad |= m
    error = None
    if bad.any():
        i = int(np.argmax(bad))
        message = next(msg(i) for m, msg in checks if m[i])
        error = SimError(message, core, i, KIND_NAMES.get(Opcode(op[i]), "?"))
        # analyse only the valid prefix; the run stops at the error
        n = i
        rec, f, op = rec[:n], {k: v[:n] for k, v in f.items()}, op[:n]
        is_load, is_gather, is_store, is_scatter = (
            is_load[:n],
            is_gather[:n],
            is_store[:n],
            is_scatter[:n],
        )
        is_block, is_im2col, is_dma, is_mm = is_block[:n], is_im2col[:n], is_dma[:n], is_mm[:n]
        tensor, rows, cols = tensor[:n], rows[:n], cols[:n]
        start1, start2, start3 = start1[:n], start2[:n], start3[:n]
        end1, end2, end3 = end1[:n], end2[:n], end3[:n]

    # DRAM bytes
    tb = tensor_bytes[np.where(is_dma, tensor, len(tensor_bytes) - 1)]
    block_bytes = rows * cols * tb
    im2col_bytes = np.zeros(n, np.int64)
    for i in np.flatnonzero(is_im2col):
        g = program.convs[f["f4"][i]]
        count = im2col.distinct_elements(
            g, int(f["f5"][i]), int(rows[i]), int(f["f6"][i]), int(cols[i])
        )
        im2col_bytes[i] = count * tb[i]
    moved = np.where(is_block, block_bytes, im2col_bytes)
    acc = (f["flags"] & 2) != 0
    read_bytes = np.where(is_load | is_gather | ((is_store | is_scatter) & acc), moved, 0)
    write_bytes = np.where(is_store | is_scatter, moved, 0)
    mm_cycles = np.where(
        is_mm, matmul_cycles(f["f3"], f["f4"], f["f5"], t.array_rows, t.array_cols, t.dataflow), 0
    )
    dur = np.where(is_dma, (read_bytes + write_bytes) / bpc, mm_cycles.astype(np.float64))
    macs = np.where(is_mm, f["f3"] * f["f4"] * f["f5"], 0)

    # elementary SPM segments
    starts = np.concatenate([start1[is_dma | is_mm], start2[is_mm], start3[is_mm]])
    ends = np.concatenate([end1[is_dma | is_mm], end2[is_mm], end3[is_mm]]).astype(np.int64)
    bounds = np.unique(np.concatenate([starts, ends]))
    seg_of = [np.searchsorted(bounds, x) for x in (start1, end1, start2, end2, start3, end3)]
    spans = [e - s for s, e in zip(seg_of[::2], seg_of[1::2], strict=True)]
    used = (is_dma | is_mm, is_mm, is_mm)
    single = all(not u.any() or int(sp[u].max()) == 1 for sp, u in zip(spans, used, strict=True))
    spm_peak = int(ends.max()) if len(ends) else 0

    # DRAM hazards: only tensors this core both reads and writes
    read_t = set(np.unique(tensor[is_load | is_gather]).tolist())
    written_t = set(np.unique(tensor[is_store | is_scatter]).tolist())
    tracked = read_t & written_t
    track = np.where(is_dma & np.isin(tensor, list(tracked)), tensor, -1) if tracked else None
    footprints = {}
    if track is not None:
        for i in np.flatnonzero(track >= 0):
            if is_block[i]:
                footprints[int(i)] = (
                    "block",
                    int(f["f5"][i]),
                    int(f["f6"][i]),
                    int(rows[i]),
                    int(cols[i]),
                )
            else:
                g = program.convs[f["f4"][i]]
                box = im2col.bounding_box(
                    g, int(f["f5"][i]), int(rows[i]), int(f["f6"][i]), int(cols[i])
                )
                footprints[int(i)] = ("box", *box)
    return CoreCode(
        core=core,
        records=rec,
        kind=op.tolist(),
        dur=dur.tolist(),
        s1=seg_of[0].tolist(),
        e1=seg_of[1].tolist(),
        s2=seg_of[2].tolist(),
        e2=seg_of[3].tolist(),
        s3=seg_of[4].tolist(),
        e3=seg_of[5].tolist(),
        segments=max(len(bounds), 1),
        single_segment=single,
        track=track.tolist() if track is not None else [-1] * n,
        footprints=footprints,
        tensor=tensor,
        read_bytes=read_bytes.astype(np.int64),
        write_bytes=write_bytes.astype(np.int64),
        macs=macs.astype(np.int64),
        spm_peak_bytes=spm_peak,
        error=error,
        halt_index=halt_index,
    )


def _check_im2col(program, f, is_im2col, tensor, n_tensors, n_convs, checks) -> None:
    """Gathers and scatters: the tensor must have the conv's NCHW shape, the tile must fit."""
    if not is_im2col.any():
        return
    conv_shape = [(g.batch, g.channels, g.height, g.width) for g in program.convs]
    conv_rows = np.array([g.rows for g in program.convs] + [0], np.float64)
    conv_cols = np.array([g.cols for g in program.convs] + [0], np.float64)
    safe_c = np.where(is_im2col & (f["f4"] < n_convs), f["f4"], n_convs)
    shape_bad = np.zeros(len(tensor), bool)
    for i in np.flatnonzero(is_im2col & (tensor < n_tensors) & (f["f4"] < n_convs)):
        shape_bad[i] = tuple(program.tensors[tensor[i]].shape) != conv_shape[f["f4"][i]]
    checks.append(
        (
            shape_bad,
            lambda i: (
                f"tensor '{program.tensors[tensor[i]].name}' has shape "
                f"{tuple(program.tensors[tensor[i]].shape)}, conv {f['f4'][i]} views "
                f"{conv_shape[f['f4'][i]]}"
            ),
        )
    )
    rows_end = f["f5"].astype(np.float64) + f["f2"]
    cols_end = f["f6"].astype(np.float64) + f["f3"]
    checks.append(
        (
            is_im2col & ((rows_end > conv_rows[safe_c]) | (cols_end > conv_cols[safe_c])),
            lambda i: (
                f"tile [m {f['f5'][i]}, k {f['f6'][i]}] of {f['f2'][i]} x {f['f3'][i]} lies "
                f"outside the {int(conv_rows[safe_c[i]])} x {int(conv_cols[safe_c[i]])} "
                f"im2col matrix of conv {f['f4'][i]}"
            ),
        )
    )


def footprints_overlap(a: tuple, b: tuple, shape: tuple[int, ...]) -> bool:
    """Whether two DRAM footprints of one tensor share an element.

    Exact for two 2-D blocks and for two boxes; a block against a box compares
    the block's rows with the box's flat extent (may report a false overlap).
    """
    if a[0] == "block" and b[0] == "block":
        _, off_a, st_a, rows_a, cols_a = a
        _, off_b, st_b, rows_b, cols_b = b
        if st_a == st_b:
            return _families_meet(off_a - off_b, st_a, rows_a, rows_b, cols_a, cols_b)
        if rows_a > rows_b:
            a, b = b, a
            _, off_a, st_a, rows_a, cols_a = a
            _, off_b, st_b, rows_b, cols_b = b
        return any(
            _families_meet(off_a + r * st_a - off_b, st_b, 1, rows_b, cols_a, cols_b)
            for r in range(rows_a)
        )
    if a[0] == "box" and b[0] == "box":
        return all(
            max(a[1 + 2 * d], b[1 + 2 * d]) < min(a[2 + 2 * d], b[2 + 2 * d]) for d in range(4)
        )
    block, box = (a, b) if a[0] == "block" else (b, a)
    _, n0, n1, c0, c1, h0, h1, w0, w1 = box
    if h0 >= h1 or w0 >= w1:
        return False
    _, ch, hh, ww = (tuple([1] * 4) + tuple(shape))[-4:]
    lo = ((n0 * ch + c0) * hh + h0) * ww + w0
    hi = (((n1 - 1) * ch + c1 - 1) * hh + h1 - 1) * ww + w1
    _, off, st, rows, cols = block
    return any(off + r * st < hi and lo < off + r * st + cols for r in range(rows))


def _families_meet(d: int, stride: int, rows_a: int, rows_b: int, cols_a: int, cols_b: int):
    """Whether rows ``[d + i*stride, +cols_a)`` (i < rows_a) meet ``[j*stride, +cols_b)``.

    Row i of the first meets row j of the second iff ``-cols_a < d + (i - j)*stride < cols_b``;
    ``t = i - j`` ranges over ``-(rows_b-1) .. rows_a-1``.
    """
    t_min, t_max = -(rows_b - 1), rows_a - 1
    if stride == 0:
        return -cols_a < d < cols_b
    t = max(t_min, (-cols_a - d) // stride + 1)
    return t <= t_max and d + t * stride < cols_b
