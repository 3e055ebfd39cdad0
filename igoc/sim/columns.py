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
    """Fields of every record (int64; u64 fields clipped to 2^62) and derived arrays.

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
            if col.dtype == np.uint64:
                col = np.minimum(col, cap)
            setattr(self, name, col.astype(np.int64))
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

    def _spm_operands(self) -> None:
        is_mm, is_dma = self.is_mm, self.is_dma
        in_bytes, c_bytes = _NBYTES[self.dt0], _NBYTES[self.dt1]
        m, k, n = (x.astype(np.float64) for x in (self.f3, self.f4, self.f5))
        block = self.rows.astype(np.float64) * self.cols * in_bytes
        zero = self.is_store & ((self.flags & 4) != 0)  # a zero store reads no SPM
        block = np.where(zero, 0.0, block)
        self.start1 = np.where(is_mm, self.f0, np.where(is_dma, self.f1, 0))
        self.end1 = self.start1 + np.where(is_mm, m * k * in_bytes, np.where(is_dma, block, 0.0))
        self.start2 = np.where(is_mm, self.f1, 0)
        self.end2 = self.start2 + np.where(is_mm, k * n * in_bytes, 0.0)
        self.start3 = np.where(is_mm, self.f2, 0)
        self.end3 = self.start3 + np.where(is_mm, m * n * c_bytes, 0.0)
