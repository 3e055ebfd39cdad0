"""``igoc-objdump FILE.npu``: print an NPU program as assembly text."""

from __future__ import annotations

import argparse
import sys

from igoc.isa.disasm import format_program
from igoc.isa.npufile import NpuFormatError, read_npu


def main(argv: list[str] | None = None) -> int:
    """Print the program in FILE.npu as assembly (``igoc-as`` reads it back to the same bytes)."""
    parser = argparse.ArgumentParser(
        prog="igoc-objdump",
        description="Print an igoc NPU program (.npu) as assembly text.",
    )
    parser.add_argument("file", help="the .npu file")
    parser.add_argument("-o", "--output", help="write the text to this file instead of stdout")
    args = parser.parse_args(argv)
    try:
        program = read_npu(args.file)
        text = format_program(program)
    except NpuFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    except BrokenPipeError:
        sys.stdout = None  # the reader went away; nothing more to write
        return 0
    except OSError as err:
        print(
            f"error: cannot write {args.output or 'stdout'}: {err.strerror or err}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
