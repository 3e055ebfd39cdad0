"""An NPU program in memory: target, DRAM tensors, conv table, per-core streams, labels.

The compiler builds a ``Program`` and hands it to ``write_npu``; ``read_npu`` gives
it back. A stream is a list of instructions (``igoc.isa.instructions``) or an
``InstructionStream`` that holds the fixed-width records and builds an instruction
only when one is looked at, so a program of millions of instructions decodes in
milliseconds. Decoded programs have the latter, and so do the compiler's
(``igoc.schedule.emit.ProgramBuilder`` encodes each stream once, for the writer and
the simulator to take as it is; a stream with a field out of its range stays a list
of instructions, for the writer to name the field).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from igoc.isa.encoding import decode_record, encode_stream
from igoc.isa.instructions import ConvGeometry, DType, Instruction
from igoc.limits import MAX_INSTRUCTIONS
from igoc.target import Target

ROLES = ("input", "output", "psum", "scratch")
"""DRAM tensor roles: read by the program, produced by it, partial sums, other temporaries."""

TENSOR_ALIGN_BYTES = 64
"""Alignment of the addresses ``layout_tensors`` gives."""


@dataclass(frozen=True)
class TensorDecl:
    """One DRAM tensor: a named, typed, shaped byte range of the DRAM address space."""

    name: str  # the name the program and its reports use (``conv1.dy``)
    role: str  # one of ROLES
    dtype: DType  # element type in DRAM
    shape: tuple[int, ...]  # dimensions, outermost first (NCHW for activations)
    address: int  # first byte in the DRAM address space

    @property
    def numel(self) -> int:
        """Elements of the tensor."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies in DRAM."""
        return self.numel * self.dtype.nbytes


@dataclass(frozen=True)
class Label:
    """Instructions ``first..last`` (inclusive) of core ``core``'s stream form region ``name``."""

    core: int  # the core whose stream it marks
    first: int  # index of the first instruction of the region
    last: int  # index of the last instruction of the region (inclusive)
    name: str  # the region's name (usually a layer)


class InstructionStream(Sequence[Instruction]):
    """A core's instructions held as ``RECORD_DTYPE`` records, decoded on access."""

    def __init__(self, records: np.ndarray) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [decode_record(r) for r in self.records[index]]
        return decode_record(self.records[index])

    def __iter__(self) -> Iterator[Instruction]:
        for rec in self.records.tolist():
            yield decode_record(rec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InstructionStream | list | tuple):
            mine, theirs = stream_records(self), stream_records(other)  # type: ignore[arg-type]
            return len(mine) == len(theirs) and bool(np.array_equal(mine, theirs))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"InstructionStream({len(self)} instructions)"


def stream_records(stream: Sequence[Instruction]) -> np.ndarray:
    """The records of a stream, whether a list of instructions or an ``InstructionStream``."""
    if isinstance(stream, InstructionStream):
        return stream.records
    return encode_stream(stream)


@dataclass
class Program:
    """A whole NPU program: what ``write_npu`` writes and ``read_npu`` reads."""

    target: Target  # the machine it was built for
    tensors: list[TensorDecl]  # the DRAM tensors; instructions name them by index
    convs: list[ConvGeometry]  # im2col views; gathers and scatters name them by index
    streams: list[Sequence[Instruction]]  # one instruction stream per core
    labels: list[Label] = field(default_factory=list)  # named regions (layers) of streams
    reference: list[dict] | None = None  # the source ops, for checking results (igoc.reference)
    meta: dict = field(default_factory=dict)  # free JSON: compiler version, decisions, ...

    def tensor_index(self, name: str) -> int:
        """Index of the tensor called ``name`` (``KeyError`` when absent)."""
        for i, t in enumerate(self.tensors):
            if t.name == name:
                return i
        raise KeyError(name)

    @property
    def instruction_count(self) -> int:
        """Instructions in all streams."""
        return sum(len(s) for s in self.streams)


def layout_tensors(
    specs: Sequence[tuple[str, str, DType, tuple[int, ...]]], base_address: int = 0
) -> list[TensorDecl]:
    """Tensors from ``(name, role, dtype, shape)`` laid out one after another, in the given order.

    Each starts at the first address, aligned to ``TENSOR_ALIGN_BYTES``, after the
    previous one ends; the same specs always give the same addresses.
    """
    out = []
    address = _align(base_address)
    for name, role, dtype, shape in specs:
        decl = TensorDecl(name, role, dtype, tuple(shape), address)
        out.append(decl)
        address = _align(address + decl.nbytes)
    return out


def _align(address: int) -> int:
    return -(-address // TENSOR_ALIGN_BYTES) * TENSOR_ALIGN_BYTES


class ProgramError(ValueError):
    """A program whose tables are inconsistent (the message says which and why)."""


def check_program(program: Program) -> None:
    """Check the tables of a program (not its instructions); raise ``ProgramError``.

    Checked: one stream per core of the target; tensor names unique and non-empty;
    roles, dtypes and shapes valid; tensors inside the address space and not
    overlapping; conv geometries with positive sizes and a non-empty output;
    labels inside their core's stream; reference and meta JSON-serialisable; at most
    ``igoc.limits.MAX_INSTRUCTIONS`` instructions.
    Instructions are checked by the simulator, which names the failing one.
    """
    cores = program.target.cores
    if len(program.streams) != cores:
        raise ProgramError(f"{len(program.streams)} streams for a target of {cores} core(s)")
    count = sum(len(stream) for stream in program.streams)
    if count > MAX_INSTRUCTIONS:
        raise ProgramError(
            f"{count:,} instructions; igoc's limit is {MAX_INSTRUCTIONS:,} per program"
        )
    names: set[str] = set()
    for i, t in enumerate(program.tensors):
        where = f"tensor {i} ('{t.name}')"
        if not isinstance(t.name, str) or not t.name:
            raise ProgramError(f"tensor {i}: empty name")
        if "\n" in t.name or len(t.name.encode()) > 65535:
            raise ProgramError(f"{where}: name has a newline or is too long")
        if t.name in names:
            raise ProgramError(f"{where}: name declared twice")
        names.add(t.name)
        if t.role not in ROLES:
            raise ProgramError(f"{where}: role '{t.role}' is not one of {', '.join(ROLES)}")
        if not isinstance(t.dtype, DType):
            raise ProgramError(f"{where}: dtype {t.dtype!r} is not a DType")
        if not 1 <= len(t.shape) <= 8 or not all(
            isinstance(d, int) and 0 < d < 2**40 for d in t.shape
        ):
            raise ProgramError(f"{where}: shape {t.shape} must have 1 to 8 positive dimensions")
        if not isinstance(t.address, int) or t.address < 0 or t.address + t.nbytes > 2**62:
            raise ProgramError(f"{where}: address {t.address!r} outside the DRAM address space")
    spans = sorted((t.address, t.address + t.nbytes, t.name) for t in program.tensors)
    for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ProgramError(f"tensors '{a}' and '{b}' overlap in DRAM")
    for i, g in enumerate(program.convs):
        if not isinstance(g, ConvGeometry):
            raise ProgramError(f"conv {i}: not a ConvGeometry")
        values = [getattr(g, f) for f in g.__dataclass_fields__]
        if not all(isinstance(v, int) and 0 <= v < 2**31 for v in values):
            raise ProgramError(f"conv {i}: fields must be non-negative integers below 2^31")
        positive = (g.batch, g.channels, g.height, g.width, g.kernel_h, g.kernel_w)
        positive += (g.stride_h, g.stride_w, g.dilation_h, g.dilation_w)
        if min(positive) <= 0:
            raise ProgramError(f"conv {i}: sizes, strides and dilations must be positive")
        if g.out_height <= 0 or g.out_width <= 0:
            raise ProgramError(f"conv {i}: the kernel does not fit the padded input")
    for j, lab in enumerate(program.labels):
        if not isinstance(lab.name, str) or not lab.name or "\n" in lab.name:
            raise ProgramError(f"label {j}: empty name or a newline in it")
        if not (isinstance(lab.core, int) and 0 <= lab.core < cores):
            raise ProgramError(f"label '{lab.name}': core {lab.core} does not exist")
        length = len(program.streams[lab.core])
        if not (isinstance(lab.first, int) and isinstance(lab.last, int)) or not (
            0 <= lab.first <= lab.last < length
        ):
            raise ProgramError(
                f"label '{lab.name}': instructions {lab.first}..{lab.last} outside "
                f"core {lab.core}'s stream of {length}"
            )
    for what, value in (("reference", program.reference), ("meta", program.meta)):
        try:
            json.dumps(value, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ProgramError(f"{what} is not JSON-serialisable: {err}") from None
    if program.reference is not None and not isinstance(program.reference, list):
        raise ProgramError("reference must be a list of ops")
    if not isinstance(program.meta, dict):
        raise ProgramError("meta must be a JSON object")


def records_of(program: Program) -> list[np.ndarray]:
    """The ``RECORD_DTYPE`` array of every core's stream."""
    return [stream_records(s) for s in program.streams]
