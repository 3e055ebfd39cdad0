"""The .npu file: a program as bytes, written atomically and read back with checks.

Layout (all integers little-endian; every section padded to a multiple of 8 bytes)::

    header   magic "IGOCNPU\\0" (8 B) | u32 format version | u32 section count
             | u64 bytes of the sections that follow
    section  4-byte tag | u32 zero | u64 payload bytes | payload | zero padding
      TRGT   the target as TOML text (UTF-8)
      TENS   u32 count, u32 zero; per tensor: u8 role, u8 dtype, u8 ndim, u8 zero,
             u16 name bytes, u16 zero, u64 address, ndim x u64 dims, name (UTF-8), padding
      CONV   u32 count, u32 zero; per conv 12 x u32 in ``ConvGeometry`` field order
      STRM   one per core, in core order: u32 core, u32 zero, u64 count, count x 40-byte
             instruction records (``igoc.isa.encoding``)
      LABL   u32 count, u32 zero; per label: u32 core, u32 name bytes, u64 first,
             u64 last, name (UTF-8), padding
      REFS   the reference ops as JSON (``null`` when absent), keys sorted
      META   the meta object as JSON, keys sorted
    trailer  u32 CRC-32 (zlib) of every byte before it

``read_npu`` refuses a file that is not an igoc program, of a newer format version,
truncated, failing its checksum, or with inconsistent tables, with one line that
says which.
"""

from __future__ import annotations

import json
import os
import pathlib
import struct
import sys
import tomllib
import zlib

import numpy as np

from igoc.errors import IgocError
from igoc.isa.encoding import RECORD_BYTES, RECORD_DTYPE, EncodingError, check_records
from igoc.isa.instructions import ConvGeometry, DType
from igoc.isa.program import (
    ROLES,
    InstructionStream,
    Label,
    Program,
    ProgramError,
    TensorDecl,
    check_program,
    records_of,
)
from igoc.target import TargetError, target_from_dict

MAGIC = b"IGOCNPU\x00"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sIIQ")
_SECTION = struct.Struct("<4sIQ")
_CONV_FIELDS = tuple(ConvGeometry.__dataclass_fields__)
_SECTION_ORDER = (b"TRGT", b"TENS", b"CONV", b"STRM", b"LABL", b"REFS", b"META")


class NpuFormatError(IgocError):
    """A .npu file (or bytes) that cannot be read; the message is one line."""


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 8)


def _section(tag: bytes, payload: bytes) -> bytes:
    return _SECTION.pack(tag, 0, len(payload)) + _pad(payload)


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def encode_program(program: Program) -> bytes:
    """The program as the bytes of a .npu file (deterministic: equal programs, equal bytes)."""
    check_program(program)
    sections = [_section(b"TRGT", program.target.to_toml().encode())]
    tens = [struct.pack("<II", len(program.tensors), 0)]
    for t in program.tensors:
        name = t.name.encode()
        tens.append(
            struct.pack(
                "<BBBBHHQ",
                ROLES.index(t.role),
                int(t.dtype),
                len(t.shape),
                0,
                len(name),
                0,
                t.address,
            )
        )
        tens.append(struct.pack(f"<{len(t.shape)}Q", *t.shape))
        tens.append(_pad(name))
    sections.append(_section(b"TENS", b"".join(tens)))
    conv = [struct.pack("<II", len(program.convs), 0)]
    for g in program.convs:
        conv.append(struct.pack("<12I", *(getattr(g, f) for f in _CONV_FIELDS)))
    sections.append(_section(b"CONV", b"".join(conv)))
    try:
        streams = records_of(program)
    except EncodingError as err:
        raise ProgramError(str(err)) from None
    for core, records in enumerate(streams):
        payload = (
            struct.pack("<IIQ", core, 0, len(records))
            + records.astype(RECORD_DTYPE, copy=False).tobytes()
        )
        sections.append(_section(b"STRM", payload))
    labs = [struct.pack("<II", len(program.labels), 0)]
    for lab in program.labels:
        name = lab.name.encode()
        labs.append(struct.pack("<IIQQ", lab.core, len(name), lab.first, lab.last))
        labs.append(_pad(name))
    sections.append(_section(b"LABL", b"".join(labs)))
    sections.append(_section(b"REFS", _json(program.reference)))
    sections.append(_section(b"META", _json(program.meta)))
    body = b"".join(sections)
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, len(sections), len(body))
    data = head + body
    return data + struct.pack("<I", zlib.crc32(data))


class _Reader:
    """Cursor over a section payload that turns overruns into ``NpuFormatError``."""

    def __init__(self, data: memoryview, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NpuFormatError(f"inconsistent {self.what} table: it ends too early")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def text(self, size: int) -> str:
        if self.pos + size > len(self.data):
            raise NpuFormatError(f"inconsistent {self.what} table: it ends too early")
        raw = bytes(self.data[self.pos : self.pos + size])
        self.pos += size + (-size % 8)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise NpuFormatError(f"inconsistent {self.what} table: a name is not UTF-8") from None


def decode_program(data: bytes, origin: str = "<bytes>") -> Program:
    """A program from the bytes of a .npu file; ``NpuFormatError`` names what is wrong."""
    view = memoryview(data)
    if len(data) < len(MAGIC) or bytes(view[: len(MAGIC)]) != MAGIC:
        raise NpuFormatError(f"{origin}: not an igoc program (bad magic number)")
    if len(data) < _HEADER.size + 4:
        raise NpuFormatError(f"{origin}: truncated file ({len(data)} bytes)")
    _, version, count, body_bytes = _HEADER.unpack_from(view)
    if version > FORMAT_VERSION:
        raise NpuFormatError(
            f"{origin}: format version {version} is newer than this igoc reads "
            f"({FORMAT_VERSION}); use a newer igoc"
        )
    if version < 1:
        raise NpuFormatError(f"{origin}: unknown format version {version}")
    expected = _HEADER.size + body_bytes + 4
    if len(data) < expected:
        raise NpuFormatError(f"{origin}: truncated file ({len(data)} of {expected} bytes)")
    if len(data) > expected:
        raise NpuFormatError(f"{origin}: {len(data) - expected} unexpected bytes after the end")
    (crc,) = struct.unpack_from("<I", view, expected - 4)
    if zlib.crc32(view[: expected - 4]) != crc:
        raise NpuFormatError(f"{origin}: checksum mismatch (the file is corrupt)")
    try:
        return _decode_sections(view[_HEADER.size : expected - 4], count)
    except NpuFormatError as err:
        raise NpuFormatError(f"{origin}: {err}") from None


def _decode_sections(body: memoryview, count: int) -> Program:
    sections: list[tuple[bytes, memoryview]] = []
    pos = 0
    for _ in range(count):
        if pos + _SECTION.size > len(body):
            raise NpuFormatError("inconsistent section table: it ends too early")
        tag, _, size = _SECTION.unpack_from(body, pos)
        pos += _SECTION.size
        if pos + size > len(body):
            raise NpuFormatError(f"inconsistent section table: section {tag!r} ends too early")
        sections.append((tag, body[pos : pos + size]))
        pos += size + (-size % 8)
    if pos != len(body):
        raise NpuFormatError("inconsistent section table: sizes do not add up")
    tags = [t for t, _ in sections]
    deduped = [t for i, t in enumerate(tags) if i == 0 or t != tags[i - 1]]
    if deduped != list(_SECTION_ORDER):
        raise NpuFormatError(f"unexpected sections {[t.decode('latin-1') for t in deduped]}")
    by_tag: dict[bytes, list[memoryview]] = {}
    for tag, payload in sections:
        by_tag.setdefault(tag, []).append(payload)
    for tag in _SECTION_ORDER:
        if tag != b"STRM" and len(by_tag[tag]) != 1:
            raise NpuFormatError(f"section {tag.decode()} appears more than once")
    try:
        text = bytes(by_tag[b"TRGT"][0]).decode()
        target = target_from_dict(tomllib.loads(text), "target")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise NpuFormatError(f"the target is not valid TOML: {err}") from None
    except TargetError as err:
        raise NpuFormatError(str(err)) from None
    tensors = _decode_tensors(by_tag[b"TENS"][0])
    convs = _decode_convs(by_tag[b"CONV"][0])
    streams = _decode_streams(by_tag[b"STRM"])
    labels = _decode_labels(by_tag[b"LABL"][0])
    try:
        reference = json.loads(bytes(by_tag[b"REFS"][0]).decode())
        meta = json.loads(bytes(by_tag[b"META"][0]).decode())
    except (UnicodeDecodeError, ValueError) as err:
        raise NpuFormatError(f"reference or meta is not valid JSON: {err}") from None
    program = Program(target, tensors, convs, streams, labels, reference, meta)
    try:
        check_program(program)
    except ProgramError as err:
        raise NpuFormatError(f"inconsistent tables: {err}") from None
    return program


def _decode_tensors(payload: memoryview) -> list[TensorDecl]:
    r = _Reader(payload, "tensor")
    (count, _) = r.take("<II")
    tensors = []
    for i in range(count):
        role, dtype, ndim, _, name_len, _, address = r.take("<BBBBHHQ")
        if role >= len(ROLES):
            raise NpuFormatError(f"inconsistent tensor table: tensor {i} has role code {role}")
        if dtype not in {int(d) for d in DType}:
            raise NpuFormatError(f"inconsistent tensor table: tensor {i} has dtype code {dtype}")
        shape = r.take(f"<{ndim}Q")
        name = r.text(name_len)
        tensors.append(TensorDecl(name, ROLES[role], DType(dtype), tuple(shape), address))
    if r.pos != len(payload):
        raise NpuFormatError("inconsistent tensor table: extra bytes at its end")
    return tensors


def _decode_convs(payload: memoryview) -> list[ConvGeometry]:
    r = _Reader(payload, "conv")
    (count, _) = r.take("<II")
    convs = [ConvGeometry(*r.take("<12I")) for _ in range(count)]
    if r.pos != len(payload):
        raise NpuFormatError("inconsistent conv table: extra bytes at its end")
    return convs


def _decode_streams(payloads: list[memoryview]) -> list[InstructionStream]:
    streams = []
    for core, payload in enumerate(payloads):
        if len(payload) < 16:
            raise NpuFormatError(f"inconsistent stream of core {core}: it ends too early")
        index, _, count = struct.unpack_from("<IIQ", payload)
        if index != core:
            raise NpuFormatError(f"streams out of order: found core {index} at place {core}")
        if len(payload) != 16 + count * RECORD_BYTES:
            raise NpuFormatError(f"inconsistent stream of core {core}: size mismatch")
        records = np.frombuffer(payload, dtype=RECORD_DTYPE, count=count, offset=16)
        try:
            check_records(records)
        except EncodingError as err:
            raise NpuFormatError(f"core {core}, {err}") from None
        streams.append(InstructionStream(records))
    return streams


def _decode_labels(payload: memoryview) -> list[Label]:
    r = _Reader(payload, "label")
    (count, _) = r.take("<II")
    labels = []
    for _ in range(count):
        core, name_len, first, last = r.take("<IIQQ")
        labels.append(Label(core, first, last, r.text(name_len)))
    if r.pos != len(payload):
        raise NpuFormatError("inconsistent label table: extra bytes at its end")
    return labels


def write_npu(program: Program, path: str | os.PathLike) -> None:
    """Write ``program`` to ``path`` (``-``: standard output) by the rules of ``igoc.output``:
    a regular file is replaced atomically, a device or pipe written in place."""
    from igoc.output import write_output

    write_output(path, encode_program(program))


def read_npu(path: str | os.PathLike) -> Program:
    """Read a .npu file (``-``: standard input); ``NpuFormatError`` (one line) for anything
    that is not a valid one."""
    if os.fspath(path) == "-":
        return decode_program(sys.stdin.buffer.read(), "<stdin>")
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as err:
        raise NpuFormatError(f"{path}: cannot read: {err.strerror or err}") from None
    return decode_program(data, str(path))
