"""Element types as numpy arrays: rounding to fp16, bf16 and fp32, and their SPM bytes.

numpy has no bfloat16, so igoc holds values of every type as numpy arrays in a
*storage form*: ``float16`` for fp16, ``float32`` for fp32, and ``float32`` holding
values already rounded to bf16 (round to nearest, ties to even) for bf16. In SPM,
which is real bytes, bf16 is its 16-bit pattern (the top half of the fp32 bits).
"""

from __future__ import annotations

import functools

import numpy as np

from igoc.isa.instructions import DType

STORAGE_DTYPE = {DType.F16: np.float16, DType.BF16: np.float32, DType.F32: np.float32}
"""The numpy dtype that holds a tensor of each element type (bf16 values live in float32)."""


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """The bf16 bit patterns (uint16) of float32 values, rounded to nearest, ties to even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    rounded = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded[nan] = np.uint16(0x7FC0)
    return rounded


def bf16_values(bits: np.ndarray) -> np.ndarray:
    """float32 values of bf16 bit patterns (uint16)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def round_to(values: np.ndarray, dtype: DType) -> np.ndarray:
    """``values`` rounded to ``dtype``, in that type's storage form (see the module doc)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype is DType.F16:
            return np.asarray(values).astype(np.float16)
        if dtype is DType.F32:
            return np.asarray(values).astype(np.float32)
        return bf16_values(bf16_bits(np.asarray(values, dtype=np.float32)))


def to_spm_bytes(values: np.ndarray, dtype: DType) -> np.ndarray:
    """The bytes (uint8, C order) that ``values`` occupy in SPM as elements of ``dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype is DType.F16:
            data = np.ascontiguousarray(values, dtype=np.float16)
        elif dtype is DType.F32:
            data = np.ascontiguousarray(values, dtype=np.float32)
        else:
            data = bf16_bits(np.asarray(values, dtype=np.float32))
    return data.reshape(-1).view(np.uint8)


@functools.cache
def _half_table() -> np.ndarray:
    """float32 casts of the 65,536 float16 values, by bit pattern."""
    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    with np.errstate(invalid="ignore"):
        table = every.astype(np.float32)
    table.flags.writeable = False
    return table


HALF_CHUNK = 1 << 16
"""Elements :func:`half_to_single` converts at a time: ``np.take`` makes an index array of
its own (8 bytes an element) for the indices it is given."""


def half_to_single(values: np.ndarray) -> np.ndarray:
    """``values.astype(np.float32)`` for a float16 array, bit for bit (NaN payloads too),
    C-ordered: a lookup in a table of the 65,536 float16 values' casts, a chunk at a time,
    in about two thirds of the time of numpy's cast loop (float16 of the other byte order:
    that loop)."""
    values = np.asarray(values, order="C")
    if values.dtype != np.float16:
        return values.astype(np.float32)
    bits = values.view(np.uint16)
    out = np.empty(bits.shape, np.float32)
    flat_bits, flat_out = bits.reshape(-1), out.reshape(-1)
    table = _half_table()
    for start in range(0, flat_bits.size, HALF_CHUNK):
        end = start + HALF_CHUNK
        np.take(table, flat_bits[start:end], out=flat_out[start:end])
    return out


def single(values: np.ndarray) -> np.ndarray:
    """``np.asarray(values, dtype=np.float32)``, float16 arrays converted by
    :func:`half_to_single`."""
    values = np.asarray(values)
    if values.dtype == np.float16:
        return half_to_single(values)
    return np.asarray(values, dtype=np.float32)


def from_spm_bytes(data: np.ndarray, dtype: DType) -> np.ndarray:
    """float32 values of SPM bytes holding elements of ``dtype`` (a flat array)."""
    raw = np.ascontiguousarray(data)
    if dtype is DType.F16:
        return half_to_single(raw.view(np.float16))
    if dtype is DType.F32:
        return raw.view(np.float32).copy()
    return bf16_values(raw.view(np.uint16))
