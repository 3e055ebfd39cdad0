"""``igoc-objdump FILE.npu``: print an NPU program as assembly text."""

from __future__ import annotations

import argparse
import sys

from igoc import __version__
from igoc.cli.common import ending_on_signals
from igoc.isa.disasm import format_program
from igoc.isa.npufile import NpuFormatError, read_npu
from igoc.output import OutputError, check_output, write_output


def main(argv: list[str] | None = None) -> int:
    """Print the program in FILE.npu as assembly (``igoc-as`` reads it back to the same bytes)."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="igoc-objdump",
        description="Print an igoc NPU program (.npu) as assembly text.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("file", help="the .npu file ('-': standard input)")
    parser.add_argument(
        "-o", "--output", default="-", help="write the text to this file (default: stdout)"
    )
    args = parser.parse_args(argv)
    return ending_on_signals("igoc-objdump", lambda: _disassemble(args))


def _disassemble(args: argparse.Namespace) -> int:
    """Disassemble as the arguments say; returns the exit status."""
    try:
        check_output(args.output, args.file)  # the program is never replaced
        program = read_npu(args.file)
        text = format_program(program)
    except NpuFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OutputError as err:
        print(err.headline(), file=sys.stderr)
        return 1
    try:
        write_output(args.output, text)
    except BrokenPipeError:
        sys.stdout = None  # the reader went away; nothing more to write
        return 0
    except OutputError as err:
        print(err.headline(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
