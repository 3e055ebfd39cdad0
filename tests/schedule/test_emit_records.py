"""The program builder encodes each stream once: a plan's instructions, appended as record
fields, and other instructions, appended as objects, in their order; a field out of its range
is reported when the program is written, naming the field, as it was before."""

from __future__ import annotations

import pytest

from igoc.isa.encoding import encode_stream, instruction_tuple
from igoc.isa.instructions import Barrier, DType, Halt, Load, Matmul, Store
from igoc.isa.npufile import encode_program
from igoc.isa.program import InstructionStream, ProgramError
from igoc.schedule.emit import ProgramBuilder
from igoc.target import load_target

MATMUL = Matmul(0, 64, 128, 4, 8, 4, DType.F16, DType.F32, accumulate=True, transpose_b=True)
STORE = Store(0, 16, 4, 4, 8, 128, DType.F32, accumulate=True, transpose=True)


def _builder() -> ProgramBuilder:
    builder = ProgramBuilder(load_target("edge"))
    builder.tensor("x", "input", DType.F16, (8, 8))
    return builder


def test_records_and_instructions_make_one_stream_in_their_order():
    builder = _builder()
    stream = builder.streams[0]
    load = Load(0, 0, 4, 8, 8, 0, DType.F16)
    stream += [load, instruction_tuple(MATMUL), Barrier(0, 1), instruction_tuple(STORE), Halt()]
    program = builder.build(None, {})
    (encoded,) = program.streams
    expected = [load, MATMUL, Barrier(0, 1), STORE, Halt()]
    assert isinstance(encoded, InstructionStream)
    assert list(encoded) == expected
    assert (encoded.records == encode_stream(expected)).all()


def test_a_field_out_of_range_is_named_when_the_program_is_written():
    builder = _builder()
    record = list(instruction_tuple(MATMUL))
    record[5] = 2**32  # b_addr, past 32 bits
    too_far = Load(0, 0, 4, 8, 8, 2**32, DType.F16)
    builder.streams[0] += [tuple(record), too_far, Halt()]
    program = builder.build(None, {})
    wide = Matmul(0, 2**32, 128, 4, 8, 4, DType.F16, DType.F32, True, False, True)
    assert list(program.streams[0]) == [wide, too_far, Halt()]
    with pytest.raises(ProgramError, match="b_addr must be an integer in 0..4294967295"):
        encode_program(program)
