"""igoc: compile a training step written in the grad dialect.

    igoc IN.mlir [-o OUT] [--target T] [--set KEY=VALUE] [--pipeline NAME] [--emit STAGE]
         [--pass-pipeline SPEC]
         [--print-ir-after-all] [--print-ir-before-all] [--print-ir-after PASS]
         [--dump-dir DIR] [--time-passes] [--generic] [--mlir-print-debuginfo]

Parses and verifies the input, stamps the target into the module, runs the
pipeline's passes (verifying after each) and writes the result: the IR of the
final stage, or - once a pipeline reaches the ``npu`` stage - the NPU program.
IR dumps go to standard error, headed as MLIR heads them.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time

from igoc import __version__, pipeline
from igoc.cli.common import (
    SET_HELP,
    UsageError,
    add_ir_print_options,
    load_module,
    machine_settings,
    run_tool,
    target_keys_help,
    whole_number,
)
from igoc.collector import paused_collector
from igoc.output import check_output, make_folder, write_output

DUMP_NAME = r"\d+-[A-Za-z0-9_.-]+\.mlir"
"""The name of a --dump-dir file: NN-<pass>.mlir."""

PROG = "igoc"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog=PROG,
        description="Compile the backward pass of a DNN training step for an NPU.",
        epilog=target_keys_help()
        + "\n\nExit status: 0 success, 1 error in the input, 2 bad usage, 3 internal error,\n"
        "130 Ctrl-C, 143 SIGTERM.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("input", nargs="?", metavar="IN.mlir", help="input file ('-': stdin)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (default: IN.npu in the current folder for an NPU program, a.npu "
        "for standard input; standard output for IR)",
    )
    parser.add_argument(
        "--target",
        metavar="T",
        help="preset name or a .toml file (default: the input's, or server)",
    )
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help=SET_HELP)
    parser.add_argument(
        "--pipeline",
        metavar="NAME",
        help=f"named pipeline (default: {pipeline.DEFAULT_PIPELINE}; see --list-passes)",
    )
    parser.add_argument(
        "--pass-pipeline", metavar="SPEC", help="passes to run instead, e.g. 'cse,canonicalize'"
    )
    parser.add_argument(
        "--emit",
        metavar="STAGE",
        help=f"stop after STAGE and print its IR ({', '.join(pipeline.STAGES)})",
    )
    parser.add_argument(
        "--print-ir-after-all", action="store_true", help="dump the IR after every pass"
    )
    parser.add_argument(
        "--print-ir-before-all", action="store_true", help="dump the IR before every pass"
    )
    parser.add_argument(
        "--print-ir-after",
        metavar="PASS",
        action="append",
        default=[],
        help="dump the IR after each run of PASS (repeatable)",
    )
    parser.add_argument(
        "--dump-dir", metavar="DIR", help="write the IR after each pass to DIR/NN-<pass>.mlir"
    )
    parser.add_argument("--time-passes", action="store_true", help="report the time of each pass")
    parser.add_argument(
        "-j",
        "--jobs",
        type=whole_number(0),
        default=0,
        metavar="N",
        help="worker processes that decide ops and weigh whole programs side by side "
        "(default 0: one per core this process may use; 1: none, one after another); the "
        "program is the same bytes either way",
    )
    add_ir_print_options(parser)
    parser.add_argument("--list-passes", action="store_true", help="list passes and pipelines")
    return parser


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    """Run igoc with ``argv`` (default: the command line); return the exit status."""
    args = _parser().parse_args(argv)
    sources: dict[str, str] = {}
    status = run_tool(PROG, lambda: _compile(args, sources), sources)
    if argv is None:
        # The command line's own run, after which the process exits: what the compile keeps
        # alive need not be scanned for garbage cycles on the way out (a full pass over every
        # object, a few tenths of a second after a large network).
        gc.freeze()
    return status


def _compile(args: argparse.Namespace, sources: dict[str, str]) -> int:
    if args.list_passes:
        sys.stdout.write(pipeline.list_passes())
        return 0
    if args.input is None:
        raise UsageError("no input file (give IN.mlir, or '-' for standard input)")
    steps = pipeline.build_pipeline(args.pipeline, args.pass_pipeline)
    for name in args.print_ir_after:
        if name not in pipeline.PASSES:
            raise UsageError(f"--print-ir-after: unknown pass '{name}'")
    if args.emit is not None:
        steps = pipeline.steps_until(steps, args.emit)
    ran = [step.name for step in steps]
    for name in args.print_ir_after:
        if name not in ran:
            which = (
                f"--pass-pipeline '{args.pass_pipeline}'"
                if args.pass_pipeline is not None
                else f"pipeline '{args.pipeline or pipeline.DEFAULT_PIPELINE}'"
            )
            until = f" up to --emit {args.emit}" if args.emit else ""
            raise UsageError(
                f"--print-ir-after {name}: the {which}{until} does not run it; "
                f"it runs: {', '.join(ran) or 'no pass'}"
            )
    stage = args.emit or pipeline.final_stage(steps)
    if stage == "npu" and args.emit is None:
        output = args.output or _default_program_path(args.input)
    else:
        output = args.output or "-"
        if output.endswith(".npu"):
            why = (
                f"--emit {stage} prints IR text, not an NPU program (without --emit, the program)"
                if args.emit is not None
                else f"this pipeline ends at stage '{stage}', whose output is IR text, not an "
                "NPU program (a pipeline that lowers writes one)"
            )
            raise UsageError(f"-o {output}: {why}")
    if args.dump_dir == "-":
        raise UsageError(
            "--dump-dir names a folder, and '-' (standard output) is not one; "
            "--print-ir-after-all prints every pass's IR on stderr"
        )
    check_output(output, args.input)  # before any work (the input is never replaced)
    settings = machine_settings(args.set)
    target = None
    if args.target is not None:
        from igoc.target import load_target

        target = load_target(args.target, settings)

    timings: list[tuple[str, float]] = []
    start = time.perf_counter()
    module = load_module(args.input, sources)
    timings.append(("parse + verify", time.perf_counter() - start))
    pipeline.check_input(module, steps, None if args.pass_pipeline is not None else args.pipeline)
    again = pipeline.decided_again(module, steps)
    if again is not None:
        print(
            f"{PROG}: warning: the input's schedules (sched.schedule) are decided again from "
            f"{again} on; to lower them as they are: --pass-pipeline lower-to-npu",
            file=sys.stderr,
        )

    from igoc.dialects.npu import module_target, stamp_target

    if target is None and (steps or settings):
        # The input's own target, checked now rather than in the middle of a pass; or the default.
        target = module_target(module)
        if settings:
            from igoc.target.spec import derive_target

            target = derive_target(target, settings, "the input's target")
    if target is not None:
        stamp_target(module, target)

    from igoc.cost.session import Session
    from igoc.progress import StatusLine

    status = StatusLine("igoc", sys.stderr)  # on a terminal: what the passes are doing
    dumps = _Dumps(args, len(steps), status)
    dumps.input(module)
    # The cyclic collector waits until the program is written: the IR trees the passes drop
    # are the only cycles made meanwhile, and few (about 40,000 objects after FasterRCNN b4
    # on edge, whose peak memory is the same either way), while collections would scan the
    # searches' estimates and the lowering's plans, millions of objects, again and again (7 s
    # of that compile's 45).
    with paused_collector():
        try:
            session = pipeline.run(
                module,
                steps,
                dumps.after,
                before_step=dumps.before,
                session=Session(single=True, progress=status, jobs=args.jobs or _cores()),
            )
        finally:
            status.close()
        dumps.warn_stale()
        for index, step in enumerate(steps):
            timings.append((step.spec, dumps.seconds[index]))

        start = time.perf_counter()
        if stage == "npu" and args.emit is None:
            # ---- the NPU program: the lowering's final step writes the .npu file ----
            from igoc.api import program_meta

            meta = program_meta(
                module, args.pass_pipeline or args.pipeline or pipeline.DEFAULT_PIPELINE
            )
            _emit_program()(module, output, meta, session)
            if not meta["layers"]:
                print(
                    f"{PROG}: warning: the input has no layer ops: the program does nothing",
                    file=sys.stderr,
                )
        else:
            from igoc.frontend import print_module

            write_output(output, print_module(module, args.generic, args.debuginfo))
        timings.append(("output", time.perf_counter() - start))
    if args.time_passes:
        _report_times(timings)
    return 0


def _default_program_path(input_path: str) -> str:
    """``IN.npu`` in the current folder (``a.npu`` for standard input), as cc names ``foo.o``."""
    if input_path == "-":
        return "a.npu"
    return os.path.splitext(os.path.basename(input_path))[0] + ".npu"


def _emit_program():
    """``emit_program(module, out_path, meta, session)``: write the NPU program of an ``npu``
    module (from the lowering's plans when ``session`` lowered it)."""
    from igoc.passes.lower_to_npu import emit_program

    return emit_program


class _Dumps:
    """The IR dumps a run asked for: before/after passes on stderr, and files in --dump-dir."""

    def __init__(self, args: argparse.Namespace, count: int, status=None):
        self.args = args
        self.status = status  # the status line, cleared before a dump is written
        self.width = max(2, len(str(count)))
        self.seconds: list[float] = []
        if args.dump_dir is not None:
            make_folder(args.dump_dir, "--dump-dir")
        # dumps of an earlier run in the folder: those this run does not write are named
        self.earlier = set()
        if args.dump_dir is not None:
            self.earlier = {
                name for name in os.listdir(args.dump_dir) if re.fullmatch(DUMP_NAME, name)
            }

    def _text(self, module) -> str:
        from igoc.frontend import print_module

        return print_module(module, self.args.generic, self.args.debuginfo)

    def _write(self, index: int, name: str, note: str, module) -> None:
        if self.args.dump_dir is None:
            return
        file = f"{index:0{self.width}d}-{name}.mlir"
        write_output(os.path.join(self.args.dump_dir, file), f"// {note}\n{self._text(module)}")
        self.earlier.discard(file)

    def warn_stale(self) -> None:
        """Say which dumps in the folder are an earlier run's (left as they are)."""
        if self.earlier:
            stale = sorted(self.earlier)
            print(
                f"{PROG}: warning: --dump-dir {self.args.dump_dir} also holds "
                f"{len(stale)} dump{'s' if len(stale) > 1 else ''} of an earlier run, left "
                f"as {'they are' if len(stale) > 1 else 'it is'}: {', '.join(stale[:3])}"
                + (", ..." if len(stale) > 3 else ""),
                file=sys.stderr,
            )

    def input(self, module) -> None:
        """The verified input (with the target stamped)."""
        self._write(0, "input", "igoc: the verified input (stage grad)", module)

    def before(self, index: int, step, module) -> None:
        """Before a pass runs."""
        if self.args.print_ir_before_all:
            if self.status is not None:
                self.status.close()
            print(f"// -----// IR Dump Before {step.name} //----- //", file=sys.stderr)
            sys.stderr.write(self._text(module))

    def after(self, index: int, step, module, seconds: float) -> None:
        """After a pass ran and its IR verified."""
        self.seconds.append(seconds)
        if self.args.print_ir_after_all or step.name in self.args.print_ir_after:
            if self.status is not None:
                self.status.close()
            print(f"// -----// IR Dump After {step.name} //----- //", file=sys.stderr)
            sys.stderr.write(self._text(module))
        stage = f"stage {step.stage}" if step.stage else "same stage"
        self._write(index + 1, step.name, f"igoc: IR after pass '{step.spec}' ({stage})", module)


def _report_times(timings: list[tuple[str, float]]) -> None:
    total = sum(seconds for _, seconds in timings)
    lines = ["// igoc: wall-clock time per phase (seconds)"]
    lines += [f"//   {seconds:9.4f}  {name}" for name, seconds in timings]
    lines.append(f"//   {total:9.4f}  total")
    print("\n".join(lines), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
