"""igoc-opt: run chosen passes on IR and print the IR (like mlir-opt).

    igoc-opt [IN.mlir] -p SPEC [-o OUT] [--generic] [--mlir-print-debuginfo] [--target T]
             [--set KEY=VALUE] [--print-ir-after-all] [--split-input-file]

The input (standard input when no file is given, as ``mlir-opt`` reads it) is
parsed and verified by igoc's front end (so errors are igoc's diagnostics), the
passes come from igoc's registry and are run by xDSL's ``PassPipeline``
machinery, and the IR is verified after each pass.

``--split-input-file`` treats each part of the input between lines
``// -----`` as a file of its own (as mlir-opt does, for tests): each part is
processed, its output or its diagnostic printed, and the next part follows;
line numbers stay those of the whole file.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from igoc import __version__
from igoc.cli.common import (
    SET_HELP,
    add_ir_print_options,
    load_module,
    machine_settings,
    run_tool,
)
from igoc.output import check_output, write_output

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

    from igoc.pipeline import Step
    from igoc.target import Target

PROG = "igoc-opt"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog=PROG,
        description="Run passes on igoc IR and print the result.",
        epilog="Exit status: 0 success, 1 error in the input, 2 bad usage, 3 internal error, "
        "130 Ctrl-C, 143 SIGTERM.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "input",
        nargs="?",
        default="-",
        metavar="IN.mlir",
        help="input file (default, or '-': standard input)",
    )
    parser.add_argument(
        "-p",
        "--pass-pipeline",
        "--passes",
        dest="passes",
        metavar="SPEC",
        default="",
        help="passes to run, e.g. 'cse,canonicalize' (default: none)",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", default="-", help="output file (default: stdout)"
    )
    add_ir_print_options(parser)
    parser.add_argument(
        "--target", metavar="T", help="stamp this target (preset or .toml) into the module"
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help=SET_HELP + " (without --target: of the input's target)",
    )
    parser.add_argument(
        "--print-ir-after-all", action="store_true", help="dump the IR after every pass to stderr"
    )
    parser.add_argument(
        "--split-input-file",
        action="store_true",
        help="process each part between '// -----' lines on its own",
    )
    parser.add_argument("--list-passes", action="store_true", help="list passes and pipelines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run igoc-opt with ``argv`` (default: the command line); return the exit status."""
    args = _parser().parse_args(argv)
    sources: dict[str, str] = {}
    return run_tool(PROG, lambda: _run(args, sources), sources)


def _run(args: argparse.Namespace, sources: dict[str, str]) -> int:
    from igoc import pipeline

    if args.list_passes:
        sys.stdout.write(pipeline.list_passes())
        return 0
    check_output(args.output, args.input)  # before any work (the input is never replaced)
    steps = pipeline.build_pipeline(spec=args.passes)
    settings = machine_settings(args.set)
    target: Target | list[tuple[str, object]] | None = None
    if args.target is not None:
        from igoc.target import load_target

        target = load_target(args.target, settings)
    elif settings:
        target = settings  # applied to each input's own target

    if args.split_input_file:
        return _run_split(args, steps, target, sources)
    module = load_module(args.input, sources)
    write_output(args.output, _process(args, steps, target, module))
    return 0


def _process(
    args: argparse.Namespace,
    steps: list[Step],
    target: Target | list[tuple[str, object]] | None,
    module: ModuleOp,
) -> str:
    """Stamp the target (or the input's with settings), run the passes, return the IR's text."""
    from igoc import pipeline
    from igoc.dialects.npu import module_target, stamp_target
    from igoc.frontend import print_module

    if isinstance(target, list):
        from igoc.target.spec import derive_target

        target = derive_target(module_target(module), target, "the input's target")
    if target is not None:
        stamp_target(module, target)

    def after(index: int, step: Step, module: ModuleOp, seconds: float) -> None:
        if args.print_ir_after_all:
            print(f"// -----// IR Dump After {step.name} //----- //", file=sys.stderr)
            sys.stderr.write(print_module(module, args.generic, args.debuginfo))

    pipeline.run(module, steps, after)
    return print_module(module, args.generic, args.debuginfo)


SPLIT_MARKER = "// -----"


def _run_split(
    args: argparse.Namespace,
    steps: list[Step],
    target: Target | list[tuple[str, object]] | None,
    sources: dict[str, str],
) -> int:
    from igoc.frontend import DiagnosticError, parse_text, read_source

    name = "<stdin>" if args.input == "-" else args.input
    text = read_source(args.input)
    sources[name] = text
    outputs = []
    status = 0
    lines_before = 0
    for part in _split(text):
        # Blank lines in place of the earlier parts keep line numbers those of the whole file.
        padded = "\n" * lines_before + part
        lines_before += part.count("\n") + 2  # the part's lines and the marker's
        try:
            outputs.append(_process(args, steps, target, parse_text(padded, name)))
        except DiagnosticError as err:
            print(err.render(text), file=sys.stderr)
            status = 1
    write_output(args.output, f"{SPLIT_MARKER}\n".join(outputs))
    return status


def _split(text: str) -> list[str]:
    """The parts of ``text`` between lines that are exactly ``// -----``."""
    parts, current = [], []
    for line in text.split("\n"):
        if line.rstrip() == SPLIT_MARKER:
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return parts


if __name__ == "__main__":
    sys.exit(main())
