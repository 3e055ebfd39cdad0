"""Static analysis of a program before it runs: costs and SPM segments per instruction.

Everything that does not depend on time is computed here, with numpy over whole
streams (``igoc.sim.columns``), after the static checks (``igoc.sim.validate``):
the DRAM bytes each DMA reads and writes, the cycles of each matmul, the SPM byte
ranges each instruction touches (as runs of *elementary segments*: the address
space cut at every range boundary the core uses, so that hazard tracking is
exact), the earlier instructions each one's SPM hazards are on
(``igoc.sim.hazards``), and the DRAM footprints of DMAs on tensors that the core both
reads and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from igoc.isa import im2col
from igoc.isa.cycles import matmul_cycles
from igoc.isa.program import Program, records_of
from igoc.sim.columns import Columns
from igoc.sim.hazards import newest_meeting
from igoc.sim.validate import first_error


@dataclass
class CoreCode:
    """One core's stream, analysed: per-instruction lists the timing loop reads."""

    core: int
    records: np.ndarray
    kind: list[int]  # opcode
    dur: list[float]  # matmul cycles, or DMA transfer cycles (bytes / bytes per cycle)
    r1: np.ndarray  # SPM range id of the DMA block or of matmul A (-1: none)
    r2: np.ndarray  # matmul B
    r3: np.ndarray  # matmul C
    range_lo: list[int]  # per range id: its first elementary SPM segment
    range_hi: list[int]  # one past its last
    segments: int  # elementary SPM segments of this core
    single_segment: bool  # every range is one segment (buffers reused whole): ids = segments
    track: list[int]  # tensor index when the DMA needs DRAM hazard checks, else -1
    # SPM hazards per instruction (``igoc.sim.hazards``): of a load, on the matmuls (dep1)
    # and the stores (dep2); of a matmul, on the loads and the stores; of a store, on the
    # loads and the matmuls
    dep1: list[int]
    dep2: list[int]
    load_ranges: list[int]  # SPM range id per instruction of the load queue (loads, gathers)
    matmul_ranges: tuple[list[int], list[int], list[int]]  # A, B, C per matmul
    store_ranges: list[int]  # per instruction of the store queue (stores, scatters)
    footprints: dict[int, tuple] = field(default_factory=dict)  # per tracked DMA
    tensor: np.ndarray | None = None  # tensor index per instruction (-1: none)
    read_bytes: np.ndarray | None = None  # DRAM bytes read per instruction
    write_bytes: np.ndarray | None = None  # DRAM bytes written per instruction
    macs: np.ndarray | None = None  # multiply-accumulates per instruction
    spm_peak_bytes: int = 0  # largest SPM end address touched
    spm_peaks: dict[int, int] = field(default_factory=dict)  # per core's SPM: bytes in use


def prepare(program: Program) -> list[CoreCode]:
    """Check and analyse every core's stream; the first invalid instruction raises ``SimError``."""
    codes = []
    for core, records in enumerate(records_of(program)):
        columns = Columns(records)
        error = first_error(program, core, columns)
        if error is not None:
            raise error
        codes.append(_analyse(program, core, columns))
    return codes


def _dram_bytes(program: Program, c: Columns) -> tuple[np.ndarray, np.ndarray]:
    """DRAM bytes each instruction reads and writes (see the instructions' docstrings)."""
    tensor_bytes = np.array([t.dtype.nbytes for t in program.tensors] + [0], np.int64)
    elem = tensor_bytes[np.where(c.is_dma, c.tensor, -1)]
    moved = c.rows * c.cols * elem
    picked = np.flatnonzero(c.is_im2col)
    if len(picked):
        moved[picked] = _im2col_counts(program, c, picked) * elem[picked]
    accumulate = (c.flags & 2) != 0
    reads = c.is_load | c.is_gather | ((c.is_store | c.is_scatter) & accumulate)
    read_bytes = np.where(reads, moved, 0)
    write_bytes = np.where(c.is_store | c.is_scatter, moved, 0)
    return read_bytes, write_bytes


def _im2col_counts(program: Program, c: Columns, picked: np.ndarray) -> np.ndarray:
    """Distinct elements each gather or scatter ``picked`` touches, one count per distinct tile.

    Without padding and with windows that never share an element, every entry of a tile
    is a different element. Otherwise a tile moved by whole images or whole channels
    touches as many elements (the count depends only on its place inside one image and
    one channel), so tiles are compared, and counted once, at that place.
    """
    convs = program.convs
    plain = np.array([g.pad_h == 0 and g.pad_w == 0 and im2col.is_injective(g) for g in convs])
    per_image = np.array([g.out_height * g.out_width for g in convs], np.int64)
    per_channel = np.array([g.kernel_h * g.kernel_w for g in convs], np.int64)
    conv = c.f4[picked]
    counts = c.rows[picked] * c.cols[picked]
    rest = np.flatnonzero(~plain[conv])
    if len(rest):
        conv = conv[rest]
        columns = (
            conv,
            c.f5[picked][rest] % per_image[conv],
            c.rows[picked][rest],
            c.f6[picked][rest] % per_channel[conv],
            c.cols[picked][rest],
        )
        first, inverse = _first_and_inverse(columns)
        found = [
            im2col.distinct_elements(convs[g], m0, rows, k0, cols)
            for g, m0, rows, k0, cols in zip(*(x[first].tolist() for x in columns), strict=True)
        ]
        counts[rest] = np.array(found, np.int64)[inverse]
    return counts


def _first_and_inverse(columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the non-negative integer ``columns`` told apart: the index of each distinct
    row's first occurrence, and per row the number of its distinct row."""
    radix = [int(x.max()) + 1 for x in columns]
    if math.prod(radix) < 1 << 62:  # one int64 key per row
        key = columns[0]
        for x, r in zip(columns[1:], radix[1:], strict=True):
            key = key * r + x
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        rows = np.stack(columns, 1)
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array, as ``np.unique`` gives them.

    ``np.unique`` without indices checks for a masked array, which imports ``numpy.ma``
    (a fifth of a short run's start-up).
    """
    values = np.sort(values)
    if len(values) > 1:
        keep = np.empty(len(values), bool)
        keep[0] = True
        np.not_equal(values[1:], values[:-1], out=keep[1:])
        values = values[keep]
    return values


def _footprints(program: Program, c: Columns) -> tuple[list[int], dict[int, tuple]]:
    """DRAM hazards matter only on tensors this core both reads and writes."""
    read_t = set(distinct(c.tensor[c.is_load | c.is_gather]).tolist())
    written_t = set(distinct(c.tensor[c.is_store | c.is_scatter]).tolist())
    tracked = read_t & written_t
    if not tracked:
        return [-1] * c.n, {}
    track = np.where(c.is_dma & np.isin(c.tensor, list(tracked)), c.tensor, -1)
    footprints = {}
    picked = np.flatnonzero(track >= 0)
    columns = (c.f5, c.rows, c.f6, c.cols, c.f4, c.is_block)
    convs = program.convs
    for i, m0, rows, k0, cols, conv, block in zip(
        picked.tolist(), *(x[picked].tolist() for x in columns), strict=True
    ):
        if block:
            footprints[i] = ("block", m0, k0, rows, cols)  # offset, stride, rows, cols
        else:
            footprints[i] = ("box", *im2col.bounding_box(convs[conv], m0, rows, k0, cols))
    return track.tolist(), footprints


def _analyse(program: Program, core: int, c: Columns) -> CoreCode:
    t = program.target
    read_bytes, write_bytes = _dram_bytes(program, c)
    cycles = matmul_cycles(c.f3, c.f4, c.f5, t)
    mm_cycles = np.where(c.is_mm, cycles, 0).astype(np.float64)
    dur = np.where(c.is_dma, (read_bytes + write_bytes) / t.dram_bytes_per_cycle, mm_cycles)
    macs = np.where(c.is_mm, c.f3 * c.f4 * c.f5, 0)

    ranges = _spm_ranges(c)
    track, footprints = _footprints(program, c)
    r1, r2, r3 = ranges.ids
    queues = (c.is_load | c.is_gather, c.is_mm, c.is_store | c.is_scatter)
    loads, matmuls, stores = (np.flatnonzero(q) for q in queues)
    dep1, dep2 = _hazards(ranges, queues, (loads, matmuls, stores))
    ids = np.arange(len(ranges.lo)).astype(object)  # one int object per range id, shared
    return CoreCode(
        core=core,
        records=c.records,
        kind=c.op.tolist(),
        dur=dur.tolist(),
        r1=r1,
        r2=r2,
        r3=r3,
        range_lo=ranges.lo.tolist(),
        range_hi=ranges.hi.tolist(),
        segments=ranges.segments,
        single_segment=ranges.single,
        track=track,
        dep1=dep1,
        dep2=dep2,
        load_ranges=ids[r1[loads]].tolist(),
        matmul_ranges=(
            ids[r1[matmuls]].tolist(),
            ids[r2[matmuls]].tolist(),
            ids[r3[matmuls]].tolist(),
        ),
        store_ranges=ids[r1[stores]].tolist(),
        footprints=footprints,
        tensor=c.tensor,
        read_bytes=read_bytes.astype(np.int64),
        write_bytes=write_bytes.astype(np.int64),
        macs=macs.astype(np.int64),
        spm_peak_bytes=int(ranges.ends.max()) if len(ranges.ends) else 0,
        spm_peaks=_spm_peaks(program, ranges.starts, ranges.ends),
    )


def _hazards(
    ranges: _Ranges, queues: tuple[np.ndarray, ...], index: tuple[np.ndarray, ...]
) -> tuple[list[int], list[int]]:
    """``CoreCode.dep1`` and ``dep2``: each instruction's SPM hazards on the other queues."""
    lo = ranges.lo.astype(np.int32)  # segments: fewer than 2^31
    hi = ranges.hi.astype(np.int32)
    n = len(ranges.ids[0])
    loads, matmuls, stores = index
    before_l, before_m, before_s = (np.cumsum(q) - q for q in queues)  # of the queue, before
    load_x = [(lo[r], hi[r]) for r in [ranges.ids[0][loads]]]
    store_x = [(lo[r], hi[r]) for r in [ranges.ids[0][stores]]]
    matmul_x = [(lo[r], hi[r]) for r in (ids[matmuls] for ids in ranges.ids)]
    c_x = matmul_x[2:]
    dep1 = np.zeros(n, np.int16)  # values fit int8
    dep2 = np.zeros(n, np.int16)
    dep1[loads] = newest_meeting(load_x, matmul_x, before_m[loads])  # WAR, WAW
    dep2[loads] = newest_meeting(load_x, store_x, before_s[loads])  # WAR
    dep1[matmuls] = newest_meeting(matmul_x, load_x, before_l[matmuls])  # RAW
    dep2[matmuls] = newest_meeting(c_x, store_x, before_s[matmuls])  # WAR
    dep1[stores] = newest_meeting(store_x, load_x, before_l[stores])  # RAW
    dep2[stores] = newest_meeting(store_x, c_x, before_m[stores])  # RAW
    small = np.arange(-128, 128).astype(object)  # lists of shared int objects, not one each
    return small[dep1 + 128].tolist(), small[dep2 + 128].tolist()


@dataclass
class _Ranges:
    """The SPM ranges of a stream: an id per instruction operand, and each id's extent."""

    ids: list[np.ndarray]  # per operand (DMA block or A, B, C): range id per instruction, or -1
    lo: np.ndarray  # per range id: first elementary segment
    hi: np.ndarray  # one past its last
    segments: int
    single: bool
    starts: np.ndarray  # per distinct range: first byte
    ends: np.ndarray  # one past its last


def _spm_ranges(c: Columns) -> _Ranges:
    """Number the distinct byte ranges the stream touches and cut the SPM into segments.

    Elementary segments are the address space cut at every range boundary, so that
    hazards on them are exact. When every range is one segment (buffers reused whole),
    a range's id is its segment, and the ids name disjoint single segments.
    """
    operands = [(c.start1, c.end1, c.is_dma | c.is_mm), (c.start2, c.end2, c.is_mm)]
    operands.append((c.start3, c.end3, c.is_mm))
    picked = [np.flatnonzero(used) for _, _, used in operands]
    starts = np.concatenate([s[p] for (s, _, _), p in zip(operands, picked, strict=True)])
    ends = np.concatenate([e[p] for (_, e, _), p in zip(operands, picked, strict=True)])
    ends = ends.astype(np.int64)
    span = int(ends.max()) + 1 if len(ends) else 1
    if span < 1 << 31:  # one int64 key per range
        keys = starts * span + ends
        found = distinct(keys)
        inverse = np.searchsorted(found, keys)
        r_start, r_end = found // span, found % span
    else:
        pairs, inverse = np.unique(np.stack([starts, ends], 1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        r_start, r_end = pairs[:, 0], pairs[:, 1]
    bounds = distinct(np.concatenate([r_start, r_end]))
    lo = np.searchsorted(bounds, r_start)
    hi = np.searchsorted(bounds, r_end)
    segments = max(len(bounds), 1)
    cuts = np.cumsum([0] + [len(p) for p in picked])
    length = hi - lo
    single = all(
        not len(p) or int(length[inverse[a:b]].max()) == 1
        for p, a, b in zip(picked, cuts[:-1], cuts[1:], strict=True)
    )
    if single:  # a range is its segment
        inverse = lo[inverse]
        lo = np.arange(segments)
        hi = lo + 1
    ids = []
    for p, a, b in zip(picked, cuts[:-1], cuts[1:], strict=True):
        per = np.full(c.n, -1, np.int64)
        per[p] = inverse[a:b]
        ids.append(per)
    return _Ranges(ids, lo, hi, segments, single, r_start, r_end)


def _spm_peaks(program: Program, starts: np.ndarray, ends: np.ndarray) -> dict[int, int]:
    """The highest byte touched in each core's SPM, counted from that SPM's first byte.

    With ``spm_shared`` one address space holds every core's SPM, core ``c``'s from
    ``c * spm_bytes``; an access belongs to the SPM it starts in.
    """
    if not len(ends):
        return {}
    t = program.target
    owner = starts // t.spm_bytes if t.spm_shared else np.zeros(len(starts), np.int64)
    offsets = np.minimum(ends - owner * t.spm_bytes, t.spm_bytes)  # one that runs on: full
    peaks: dict[int, int] = {}
    for c in distinct(owner).tolist():
        peaks[int(c)] = int(offsets[owner == c].max())
    return peaks
