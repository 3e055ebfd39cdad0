"""``igoc-as FILE.s -o FILE.npu``: assemble NPU assembly text into a .npu program."""

from __future__ import annotations

import argparse
import sys

from igoc import __version__
from igoc.cli.common import ending_on_signals
from igoc.isa.asm import AsmError, parse_assembly
from igoc.isa.npufile import write_npu
from igoc.isa.program import ProgramError
from igoc.output import OutputError, check_output


def main(argv: list[str] | None = None) -> int:
    """Assemble FILE.s (``-`` for stdin) into the .npu file given with ``-o``."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="igoc-as",
        description="Assemble igoc NPU assembly text (.s) into a program file (.npu). "
        "The syntax is documented in igoc/isa/README.md.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("file", help="the assembly file, or - for standard input")
    parser.add_argument(
        "-o", "--output", required=True, help="the .npu file to write ('-': standard output)"
    )
    args = parser.parse_args(argv)
    return ending_on_signals("igoc-as", lambda: _assemble(args))


def _assemble(args: argparse.Namespace) -> int:
    """Assemble as the arguments say; returns the exit status."""
    try:
        check_output(args.output, args.file)  # the source is never replaced by the program
    except OutputError as err:
        print(err.headline(), file=sys.stderr)
        return 1
    try:
        if args.file == "-":
            text, name = sys.stdin.read(), "<stdin>"
        else:
            with open(args.file, encoding="utf-8") as f:
                text, name = f.read(), args.file
    except (OSError, UnicodeDecodeError) as err:
        print(
            f"error: cannot read {args.file}: {getattr(err, 'strerror', None) or err}",
            file=sys.stderr,
        )
        return 1
    try:
        program = parse_assembly(text, name)
        write_npu(program, args.output)
    except AsmError as err:
        print(err, file=sys.stderr)
        return 1
    except ProgramError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return 1
    except OutputError as err:
        print(err.headline(), file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()  # the reader of standard output went away
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
