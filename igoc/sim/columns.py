"""A core's stream as numpy columns: the record fields, one mask per kind, the SPM operands.

Static checks (``igoc.sim.validate``) and the cost analysis (``igoc.sim.prepare``)
both read a stream this way, without a Python loop per instruction.
"""

from __future__ import annotations

import numpy as np

from igoc.isa.encoding import Opcode
from igoc.isa.instructions import DType

_NBYTES = np.zeros(256, np.int64)
for _d in DType:
    _NBYTES[int(_d)] = _d.nbytes


class Columns:
    """Fields of every record and derived arrays: ``op``, ``flags``, ``dt0``, ``dt1`` as
    uint8, the others as int64 (u64 fields clipped to 2^62).

    Field names follow ``igoc.isa.encoding``: ``f0`` tensor / a_addr / barrier_id,
    ``f1`` spm_addr / b_addr / core_mask, ``f2`` rows / c_addr, ``f3`` cols / m,
    ``f4`` conv / k, ``f5`` dram_offset_elems / m_start / n, ``f6`` row_stride_elems /
    k_start. SPM operand ``j`` (1: the DMA block or matmul A, 2: matmul B,
    3: matmul C) spans bytes ``start[j] .. end[j]`` (float64 ends: they may be huge
    in invalid programs; zero-sized for instructions without that operand).
    """

    def __init__(self, records: np.ndarray) -> None:
        self.records = records
        self.n = len(records)
        cap = np.uint64(2**62)
        for name in records.dtype.names:
            col = records[name]
            if col.dtype == np.uint8:  # small codes: no wider copy (a run's memory is time)
                col = np.ascontiguousarray(col)
            else:
                if col.dtype == np.uint64:
                    col = np.minimum(col, cap)
                col = col.astype(np.int64)
            setattr(self, name, col)
        op = self.op
        self.is_load, self.is_gather = op == Opcode.LOAD, op == Opcode.GATHER
        self.is_store, self.is_scatter = op == Opcode.STORE, op == Opcode.SCATTER
        self.is_block = self.is_load | self.is_store
        self.is_im2col = self.is_gather | self.is_scatter
        self.is_dma = self.is_block | self.is_im2col
        self.is_mm = op == Opcode.MATMUL
        self.is_barrier = op == Opcode.BARRIER
        self.tensor = np.where(self.is_dma, self.f0, -1)
        self.rows, self.cols = self.f2, self.f3
        self._spm_operands()

    def raw(self, name: str, i: int) -> int:
        """Field ``name`` of record ``i`` as the record holds it (not clipped), for messages."""
        return int(self.records[name][i])

    def _spm_operands(self) -> None:
        """``start1`` .. ``end3``, worked out on the matmuls and the DMAs alone."""
        count = self.n
        self.start1, self.start2, self.start3 = (np.zeros(count, np.int64) for _ in range(3))
        self.end1, self.end2, self.end3 = (np.zeros(count, np.float64) for _ in range(3))
        mm = np.flatnonzero(self.is_mm)
        if len(mm):
            in_bytes, c_bytes = _NBYTES[self.dt0[mm]], _NBYTES[self.dt1[mm]]
            m, k, n = (x[mm].astype(np.float64) for x in (self.f3, self.f4, self.f5))
            for start, end, addr, size in (
                (self.start1, self.end1, self.f0, m * k * in_bytes),
                (self.start2, self.end2, self.f1, k * n * in_bytes),
                (self.start3, self.end3, self.f2, m * n * c_bytes),
            ):
                start[mm] = addr[mm]
                end[mm] = start[mm] + size
        dma = np.flatnonzero(self.is_dma)
        if len(dma):
            block = self.rows[dma].astype(np.float64) * self.cols[dma] * _NBYTES[self.dt0[dma]]
            zero = self.is_store[dma] & ((self.flags[dma] & 4) != 0)  # reads no SPM
            self.start1[dma] = self.f1[dma]
            self.end1[dma] = self.start1[dma] + np.where(zero, 0.0, block)
