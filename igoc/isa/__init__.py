"""The NPU instruction set, its binary encoding, the .npu file and the assembly text.

The instruction records are in ``igoc.isa.instructions``; a whole program is an
``igoc.isa.program.Program``; ``write_npu``/``read_npu`` store it; ``asm`` prints and
parses its text; ``im2col`` says what a gather or scatter touches and ``cycles``
how long a matmul keeps the array busy (both used by compiler and simulator alike).
``README.md`` in this folder documents the format and the syntax. May import
``target``, ``limits`` (the instructions a program may hold) and ``output`` (how a
``.npu`` file is written) only.
"""

from igoc.isa.npufile import NpuFormatError, decode_program, encode_program, read_npu, write_npu
from igoc.isa.program import (
    InstructionStream,
    Label,
    Program,
    ProgramError,
    TensorDecl,
    check_program,
    layout_tensors,
)

__all__ = [
    "InstructionStream",
    "Label",
    "NpuFormatError",
    "Program",
    "ProgramError",
    "TensorDecl",
    "check_program",
    "decode_program",
    "encode_program",
    "layout_tensors",
    "read_npu",
    "write_npu",
]
