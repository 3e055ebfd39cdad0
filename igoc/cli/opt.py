"""igoc-opt: run chosen passes on IR and print the IR (like mlir-opt).

    igoc-opt IN.mlir -p SPEC [-o OUT] [--generic] [--target T] [--print-ir-after-all]

The input is parsed and verified by igoc's front end (so errors are igoc's
diagnostics), the passes come from igoc's registry and are run by xDSL's
``PassPipeline`` machinery, and the IR is verified after each pass.
"""

from __future__ import annotations

import argparse
import sys

from igoc.cli.common import UsageError, load_module, run_tool, write_text

PROG = "igoc-opt"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run passes on igoc IR and print the result.",
        epilog="Exit status: 0 success, 1 error in the input, 2 bad usage, 3 internal error.",
    )
    parser.add_argument("input", nargs="?", metavar="IN.mlir", help="input file ('-': stdin)")
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
    parser.add_argument("--generic", action="store_true", help="print IR in MLIR's generic form")
    parser.add_argument(
        "--target", metavar="T", help="stamp this target (preset or .toml) into the module"
    )
    parser.add_argument(
        "--print-ir-after-all", action="store_true", help="dump the IR after every pass to stderr"
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
    if args.input is None:
        raise UsageError("no input file (give IN.mlir, or '-' for standard input)")
    steps = pipeline.build_pipeline(spec=args.passes)
    target = None
    if args.target is not None:
        from igoc.target import load_target

        target = load_target(args.target)
    module = load_module(args.input, sources)
    if target is not None:
        pipeline.stamp_target(module, target)

    from igoc.frontend import print_module

    def after(index: int, step: pipeline.Step, module, seconds: float) -> None:
        if args.print_ir_after_all:
            print(f"// -----// IR Dump After {step.name} //----- //", file=sys.stderr)
            sys.stderr.write(print_module(module, args.generic))

    pipeline.run(module, steps, after)
    write_text(args.output, print_module(module, args.generic))
    return 0


if __name__ == "__main__":
    sys.exit(main())
