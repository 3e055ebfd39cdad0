"""The 40-byte instruction record: encode -> decode is the identity, and bad records are refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from isakit import instructions

from igoc.isa.encoding import (
    RECORD_BYTES,
    RECORD_DTYPE,
    EncodingError,
    check_records,
    decode_record,
    encode_stream,
    instruction_tuple,
)
from igoc.isa.instructions import DType, Load, Matmul, Store


def test_record_is_40_little_endian_bytes():
    assert RECORD_BYTES == 40
    rec = encode_stream([Load(3, 0x0102030405060708, 9, 10, 11, 0xAABBCCDD, DType.BF16, True)])
    raw = rec.tobytes()
    assert raw[:4] == bytes([1, 1, 2, 0])  # opcode load, transpose, bf16
    assert raw[4:8] == (3).to_bytes(4, "little")
    assert raw[8:12] == (0xAABBCCDD).to_bytes(4, "little")
    assert raw[24:32] == (0x0102030405060708).to_bytes(8, "little")


@settings(max_examples=300)
@given(st.lists(instructions(), max_size=20))
def test_encode_decode_is_the_identity(stream):
    records = encode_stream(stream)
    assert records.dtype == RECORD_DTYPE and len(records) == len(stream)
    check_records(records)
    assert [decode_record(r) for r in records] == stream
    again = np.frombuffer(records.tobytes(), RECORD_DTYPE)
    assert [decode_record(r) for r in again] == stream


@pytest.mark.parametrize(
    "inst, field",
    [
        (Load(-1, 0, 1, 1, 1, 0, DType.F16), "tensor"),
        (Store(0, 2**64, 1, 1, 1, 0, DType.F16), "dram_offset_elems"),
        (Matmul(0, 0, 2**32, 1, 1, 1, DType.F16, DType.F32), "c_addr"),
        (Load(0, 0, 1, 1, 1, 0, 2), "spm_dtype"),
    ],
)
def test_fields_out_of_range_are_named(inst, field):
    with pytest.raises(EncodingError, match=field):
        instruction_tuple(inst)


def test_bad_records_are_refused():
    good = encode_stream([Matmul(0, 0, 0, 1, 1, 1, DType.F16, DType.F32)])
    for change, message in (
        (("op", 0), "unknown opcode 0"),
        (("op", 9), "unknown opcode 9"),
        (("flags", 8), "flags 8 not allowed"),
        (("dt1", 7), "unknown element type"),
    ):
        bad = good.copy()
        bad[change[0]] = change[1]
        with pytest.raises(EncodingError, match=message):
            check_records(bad)
    load = encode_stream([Load(0, 0, 1, 1, 1, 0, DType.F16)])
    load["flags"] = 2  # accumulate is not a flag of loads
    with pytest.raises(EncodingError, match="not allowed"):
        check_records(load)
    zero = encode_stream([Store(0, 0, 1, 1, 1, 0, DType.F16, zero=True)])
    for field, value in (("flags", 4 | 2), ("flags", 4 | 1), ("f1", 64)):
        bad = zero.copy()
        bad[field] = value
        with pytest.raises(EncodingError, match="a zero store takes SPM address 0"):
            check_records(bad)


@pytest.mark.parametrize(
    "inst",
    [
        Store(0, 0, 1, 1, 1, 0, DType.F16, accumulate=True, zero=True),
        Store(0, 0, 1, 1, 1, 0, DType.F16, transpose=True, zero=True),
        Store(0, 0, 1, 1, 1, 0x40, DType.F16, zero=True),
    ],
)
def test_a_zero_store_has_one_form(inst):
    with pytest.raises(EncodingError, match="a zero store takes SPM address 0"):
        instruction_tuple(inst)
