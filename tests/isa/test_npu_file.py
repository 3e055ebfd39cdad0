"""The .npu file: identity, determinism, atomic writes, and one-line refusals of bad files."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isakit import programs

from igoc.isa.instructions import ConvGeometry, DType, Halt, Load
from igoc.isa.npufile import (
    FORMAT_VERSION,
    MAGIC,
    NpuFormatError,
    decode_program,
    encode_program,
    read_npu,
    write_npu,
)
from igoc.isa.program import (
    InstructionStream,
    Label,
    Program,
    ProgramError,
    TensorDecl,
    check_program,
    layout_tensors,
)
from igoc.target import load_target


def small_program() -> Program:
    tensors = layout_tensors([("x", "input", DType.F16, (4, 4)), ("y", "output", DType.F32, (4,))])
    stream = [Load(0, 0, 4, 4, 4, 0, DType.F16), Halt()]
    return Program(
        load_target("edge"),
        tensors,
        [ConvGeometry(1, 1, 4, 4)],
        [stream],
        [Label(0, 0, 1, "all")],
        None,
        {"compiler": "test"},
    )


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_encode_decode_is_the_identity(program):
    data = encode_program(program)
    back = decode_program(data)
    assert back == program
    assert encode_program(back) == data
    assert all(isinstance(s, InstructionStream) for s in back.streams)


def test_bytes_are_deterministic_and_start_with_the_header():
    a, b = encode_program(small_program()), encode_program(small_program())
    assert a == b
    magic, version, sections, body = struct.unpack_from("<8sIIQ", a)
    assert (magic, version, sections) == (MAGIC, FORMAT_VERSION, 7)
    assert len(a) == 24 + body + 4
    assert struct.unpack("<I", a[-4:])[0] == zlib.crc32(a[:-4])


def test_write_is_atomic_and_read_gives_the_program_back(tmp_path):
    path = tmp_path / "p.npu"
    write_npu(small_program(), path)
    assert read_npu(path) == small_program()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npu"]
    bad = small_program()
    bad.labels.append(Label(0, 5, 9, "outside"))
    with pytest.raises(ProgramError, match="outside"):
        write_npu(bad, tmp_path / "q.npu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npu"]  # nothing half-written


def _refused(data: bytes) -> str:
    with pytest.raises(NpuFormatError) as info:
        decode_program(data, "f.npu")
    message = str(info.value)
    assert "\n" not in message and message.startswith("f.npu: ")
    return message


def _resealed(data: bytes) -> bytes:
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]))


def test_foreign_truncated_corrupt_and_newer_files_are_refused():
    data = encode_program(small_program())
    assert "not an igoc program" in _refused(b"\x7fELF" + data[4:])
    assert "not an igoc program" in _refused(b"")
    assert "truncated" in _refused(data[:-10])
    assert "truncated" in _refused(data[:30])
    corrupt = bytearray(data)
    corrupt[100] ^= 0xFF
    assert "checksum mismatch" in _refused(bytes(corrupt))
    newer = bytearray(data)
    newer[8:12] = struct.pack("<I", FORMAT_VERSION + 1)
    message = _refused(_resealed(bytes(newer)))
    assert f"format version {FORMAT_VERSION + 1} is newer" in message
    assert "unexpected bytes" in _refused(data + b"\0")


def test_inconsistent_tables_are_refused():
    program = small_program()
    data = encode_program(program)
    # a label that points past its stream: patch its 'last' field and reseal the checksum
    index = data.index(b"LABL") + 16 + 8
    patched = bytearray(data)
    patched[index + 16 : index + 24] = struct.pack("<Q", 99)
    assert "inconsistent tables" in _refused(_resealed(bytes(patched)))
    # an unknown opcode in the stream
    at = data.index(b"STRM") + 16 + 16
    patched = bytearray(data)
    patched[at] = 42
    assert "unknown opcode 42" in _refused(_resealed(bytes(patched)))
    # a role code that does not exist
    at = data.index(b"TENS") + 16 + 8
    patched = bytearray(data)
    patched[at] = 9
    assert "role code 9" in _refused(_resealed(bytes(patched)))


def test_read_of_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(NpuFormatError, match="cannot read"):
        read_npu(tmp_path / "none.npu")


def test_layout_is_aligned_ordered_and_disjoint():
    tensors = layout_tensors(
        [
            ("a", "input", DType.F16, (3, 5)),
            ("b", "psum", DType.F32, (7,)),
            ("c", "output", DType.BF16, (1,)),
        ],
        base_address=10,
    )
    assert [t.address for t in tensors] == [64, 128, 192]
    assert all(t.address % 64 == 0 for t in tensors)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p.streams.append([]), "2 streams for a target of 1"),
        (lambda p: p.tensors.append(TensorDecl("x", "input", DType.F16, (1,), 4096)), "twice"),
        (lambda p: p.tensors.append(TensorDecl("z", "weights", DType.F16, (1,), 4096)), "role"),
        (lambda p: p.tensors.append(TensorDecl("z", "input", DType.F16, (0,), 4096)), "shape"),
        (lambda p: p.tensors.append(TensorDecl("z", "input", DType.F16, (2,), 2)), "overlap"),
        (lambda p: p.convs.append(ConvGeometry(1, 1, 2, 2, 5, 5)), "does not fit"),
        (lambda p: p.labels.append(Label(1, 0, 0, "x")), "core 1 does not exist"),
        (lambda p: p.meta.update(bad=object()), "not JSON"),
    ],
)
def test_check_program_names_the_problem(change, message):
    program = small_program()
    change(program)
    with pytest.raises(ProgramError, match=message):
        check_program(program)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(24, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 64),
)
def test_mutated_files_are_refused_or_read_never_a_crash(changes, cut):
    """Bytes changed and the checksum recomputed, so the checks behind the checksum run."""
    data = bytearray(encode_program(small_program()))
    for at, value in changes:
        data[24 + at % (len(data) - 28)] = value
    if cut:
        del data[-4 - cut : -4]
        data[16:24] = struct.pack("<Q", len(data) - 28)
    try:
        program = decode_program(_resealed(bytes(data)), "f.npu")
    except NpuFormatError as err:
        assert "\n" not in str(err)
    else:
        check_program(program)
