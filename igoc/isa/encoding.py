"""The fixed-width binary encoding of instructions: one 40-byte little-endian record each.

Every instruction kind packs into the same record (a numpy structured dtype), so a
core's stream is one contiguous array that encodes, decodes and scans without a
Python loop per instruction. The layout (offsets in bytes):

====== ====== =========================================================================
offset type   meaning
====== ====== =========================================================================
0      u8     opcode (``Opcode``)
1      u8     flags: bit 0 transpose / transpose_a, bit 1 accumulate, bit 2 transpose_b
              (matmul) or zero (store)
2      u8     dtype 0: ``spm_dtype`` (DMA) or ``in_dtype`` (matmul)
3      u8     dtype 1: ``c_dtype`` (matmul), else 0
4      u32    f0: tensor index (DMA), a_addr (matmul), barrier_id (barrier)
8      u32    f1: spm_addr (DMA), b_addr (matmul), core_mask (barrier)
12     u32    f2: rows (DMA), c_addr (matmul)
16     u32    f3: cols (DMA), m (matmul)
20     u32    f4: conv index (gather, scatter), k (matmul)
24     u64    f5: dram_offset_elems (load, store), m_start (gather, scatter), n (matmul)
32     u64    f6: row_stride_elems (load, store), k_start (gather, scatter)
====== ====== =========================================================================

Unused fields are zero; a decoder refuses unknown opcodes, unknown dtypes and
flags that the kind does not have, so every record decodes to exactly one instruction.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import numpy as np

from igoc.isa.instructions import (
    Barrier,
    DType,
    Gather,
    Halt,
    Instruction,
    Load,
    Matmul,
    Scatter,
    Store,
)

RECORD_DTYPE = np.dtype(
    [
        ("op", "<u1"),
        ("flags", "<u1"),
        ("dt0", "<u1"),
        ("dt1", "<u1"),
        ("f0", "<u4"),
        ("f1", "<u4"),
        ("f2", "<u4"),
        ("f3", "<u4"),
        ("f4", "<u4"),
        ("f5", "<u8"),
        ("f6", "<u8"),
    ]
)
"""One instruction record (40 bytes, little-endian)."""

RECORD_BYTES = RECORD_DTYPE.itemsize

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

FLAG_TRANSPOSE = 1  # transpose (DMA) or transpose_a (matmul)
FLAG_ACCUMULATE = 2
FLAG_TRANSPOSE_B = 4
FLAG_ZERO = 4  # a store that writes zeros (bit 2, as transpose_b of a matmul)


class Opcode(enum.IntEnum):
    """The opcode byte of each instruction kind."""

    LOAD = 1
    GATHER = 2
    STORE = 3
    SCATTER = 4
    MATMUL = 5
    BARRIER = 6
    HALT = 7


OPCODE_OF = {
    Load: Opcode.LOAD,
    Gather: Opcode.GATHER,
    Store: Opcode.STORE,
    Scatter: Opcode.SCATTER,
    Matmul: Opcode.MATMUL,
    Barrier: Opcode.BARRIER,
    Halt: Opcode.HALT,
}

ALLOWED_FLAGS = {
    Opcode.LOAD: FLAG_TRANSPOSE,
    Opcode.GATHER: FLAG_TRANSPOSE,
    Opcode.STORE: FLAG_TRANSPOSE | FLAG_ACCUMULATE | FLAG_ZERO,
    Opcode.SCATTER: FLAG_ACCUMULATE,
    Opcode.MATMUL: FLAG_TRANSPOSE | FLAG_ACCUMULATE | FLAG_TRANSPOSE_B,
    Opcode.BARRIER: 0,
    Opcode.HALT: 0,
}

_DTYPE_VALUES = frozenset(int(d) for d in DType)


class EncodingError(ValueError):
    """An instruction that does not fit the record, or a record that is no instruction."""


def _u32(value: int, what: str) -> int:
    if not isinstance(value, int) or value < 0 or value > U32_MAX:
        raise EncodingError(f"{what} must be an integer in 0..{U32_MAX}, got {value!r}")
    return value


def _u64(value: int, what: str) -> int:
    if not isinstance(value, int) or value < 0 or value > U64_MAX:
        raise EncodingError(f"{what} must be an integer in 0..{U64_MAX}, got {value!r}")
    return value


def _dtype(value: DType, what: str) -> int:
    if not isinstance(value, DType):
        raise EncodingError(f"{what} must be a DType, got {value!r}")
    return int(value)


def instruction_tuple(inst: Instruction) -> tuple:
    """The record fields of one instruction, in ``RECORD_DTYPE`` order (checked)."""
    kind = type(inst)
    if kind is Load or kind is Store:
        flags = FLAG_TRANSPOSE if inst.transpose else 0
        if kind is Store and inst.accumulate:
            flags |= FLAG_ACCUMULATE
        if kind is Store and inst.zero:
            if flags or inst.spm_addr != 0:
                raise EncodingError(
                    "a zero store takes SPM address 0 and neither accumulates nor transposes"
                )
            flags |= FLAG_ZERO
        return (
            OPCODE_OF[kind],
            flags,
            _dtype(inst.spm_dtype, "spm_dtype"),
            0,
            _u32(inst.tensor, "tensor"),
            _u32(inst.spm_addr, "spm_addr"),
            _u32(inst.rows, "rows"),
            _u32(inst.cols, "cols"),
            0,
            _u64(inst.dram_offset_elems, "dram_offset_elems"),
            _u64(inst.row_stride_elems, "row_stride_elems"),
        )
    if kind is Gather or kind is Scatter:
        if kind is Gather:
            flags = FLAG_TRANSPOSE if inst.transpose else 0
        else:
            flags = FLAG_ACCUMULATE if inst.accumulate else 0
        return (
            OPCODE_OF[kind],
            flags,
            _dtype(inst.spm_dtype, "spm_dtype"),
            0,
            _u32(inst.tensor, "tensor"),
            _u32(inst.spm_addr, "spm_addr"),
            _u32(inst.rows, "rows"),
            _u32(inst.cols, "cols"),
            _u32(inst.conv, "conv"),
            _u64(inst.m_start, "m_start"),
            _u64(inst.k_start, "k_start"),
        )
    if kind is Matmul:
        flags = (
            (FLAG_TRANSPOSE if inst.transpose_a else 0)
            | (FLAG_ACCUMULATE if inst.accumulate else 0)
            | (FLAG_TRANSPOSE_B if inst.transpose_b else 0)
        )
        return (
            Opcode.MATMUL,
            flags,
            _dtype(inst.in_dtype, "in_dtype"),
            _dtype(inst.c_dtype, "c_dtype"),
            _u32(inst.a_addr, "a_addr"),
            _u32(inst.b_addr, "b_addr"),
            _u32(inst.c_addr, "c_addr"),
            _u32(inst.m, "m"),
            _u32(inst.k, "k"),
            _u32(inst.n, "n"),
            0,
        )
    if kind is Barrier:
        return (
            Opcode.BARRIER,
            0,
            0,
            0,
            _u32(inst.barrier_id, "barrier_id"),
            _u32(inst.core_mask, "core_mask"),
            0,
            0,
            0,
            0,
            0,
        )
    if kind is Halt:
        return (Opcode.HALT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    raise EncodingError(f"not an instruction: {inst!r}")


def encode_stream(instructions: Iterable[Instruction]) -> np.ndarray:
    """Pack instructions into an array of ``RECORD_DTYPE`` records."""
    rows = [instruction_tuple(inst) for inst in instructions]
    return np.array(rows, dtype=RECORD_DTYPE) if rows else np.zeros(0, RECORD_DTYPE)


def check_records(records: np.ndarray) -> None:
    """Raise ``EncodingError`` naming the first record that is not a valid instruction."""
    op = records["op"]
    bad_op = (op < Opcode.LOAD) | (op > Opcode.HALT)
    if bad_op.any():
        i = int(np.argmax(bad_op))
        raise EncodingError(f"instruction {i}: unknown opcode {int(op[i])}")
    allowed = np.array([0] + [ALLOWED_FLAGS[Opcode(v)] for v in range(1, 8)], np.uint8)
    bad_flags = (records["flags"] & ~allowed[op]) != 0
    if bad_flags.any():
        i = int(np.argmax(bad_flags))
        raise EncodingError(f"instruction {i}: flags {int(records['flags'][i])} not allowed")
    flags = records["flags"]
    zero = (op == Opcode.STORE) & ((flags & FLAG_ZERO) != 0)
    bad_zero = zero & ((flags != FLAG_ZERO) | (records["f1"] != 0))
    if bad_zero.any():
        i = int(np.argmax(bad_zero))
        raise EncodingError(
            f"instruction {i}: a zero store takes SPM address 0 and neither accumulates "
            "nor transposes"
        )
    dma = op <= Opcode.SCATTER
    mm = op == Opcode.MATMUL
    valid = np.zeros(256, bool)
    valid[list(_DTYPE_VALUES)] = True
    bad_dt = ((dma | mm) & ~valid[records["dt0"]]) | (mm & ~valid[records["dt1"]])
    if bad_dt.any():
        i = int(np.argmax(bad_dt))
        raise EncodingError(f"instruction {i}: unknown element type code")
    if (mm & (records["f5"] > U32_MAX)).any():
        i = int(np.argmax(mm & (records["f5"] > U32_MAX)))
        raise EncodingError(f"instruction {i}: matmul n out of range")


_DTYPE_OF = {int(d): d for d in DType}
_LOAD, _GATHER, _STORE, _SCATTER = 1, 2, 3, 4
_MATMUL, _BARRIER, _HALT = 5, 6, 7


def decode_record(rec: np.void | Sequence) -> Instruction:
    """One record (a ``RECORD_DTYPE`` row, or its ``tolist()`` tuple) as its instruction."""
    if type(rec) is not tuple:
        rec = tuple(int(v) for v in rec)
    op, flags, dt0, dt1, f0, f1, f2, f3, f4, f5, f6 = rec
    transpose = bool(flags & FLAG_TRANSPOSE)
    accumulate = bool(flags & FLAG_ACCUMULATE)
    try:
        if op == _LOAD:
            return Load(f0, f5, f2, f3, f6, f1, _DTYPE_OF[dt0], transpose)
        if op == _MATMUL:
            transpose_b = bool(flags & FLAG_TRANSPOSE_B)
            return Matmul(
                f0,
                f1,
                f2,
                f3,
                f4,
                f5,
                _DTYPE_OF[dt0],
                _DTYPE_OF[dt1],
                accumulate,
                transpose,
                transpose_b,
            )
        if op == _STORE:
            zero = bool(flags & FLAG_ZERO)
            return Store(f0, f5, f2, f3, f6, f1, _DTYPE_OF[dt0], accumulate, transpose, zero)
        if op == _GATHER:
            return Gather(f0, f4, f5, f6, f2, f3, f1, _DTYPE_OF[dt0], transpose)
        if op == _SCATTER:
            return Scatter(f0, f4, f5, f6, f2, f3, f1, _DTYPE_OF[dt0], accumulate)
    except KeyError:
        raise EncodingError(f"unknown element type code in a record of opcode {op}") from None
    if op == _BARRIER:
        return Barrier(f0, f1)
    if op == _HALT:
        return Halt()
    raise EncodingError(f"unknown opcode {op}")
