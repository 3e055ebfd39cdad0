"""``igoc-sim FILE.npu``: simulate an NPU program; timing, and with data when asked."""

from __future__ import annotations

import argparse
import json
import math
import sys
import zipfile
from collections.abc import Callable

import numpy as np

from igoc import __version__
from igoc.cli.common import decimal_integer, ending_on_signals
from igoc.isa.npufile import NpuFormatError, read_npu
from igoc.isa.program import Program
from igoc.output import (
    STDOUT,
    OutputError,
    check_output,
    open_output,
    same_file,
    write_output,
)
from igoc.progress import StatusLine
from igoc.sim import SimError, simulate
from igoc.sim.report import format_report
from igoc.sim.tolerance import RULE

EPILOG = f"""\
Functional mode (--inputs, --outputs or --check) runs the program on data: input
tensors come from a seeded normal generator (weights scaled by 1/sqrt(fan-in)),
replaced by the arrays of --inputs where given (keyed by tensor name). bf16
tensors are read and written as float32 arrays.

--check compares every tensor that the program's reference ops produce with numpy
(igoc.reference) and fails (exit status 1) unless, for each, {RULE}.
With --json, numbers that are not finite (an error of NaN or infinity, with such
values in the data) are null.

--read-once and --read-once-dy run an oracle, not the machine: the loads of the
named tensors (of every output gradient, the dY that dX and dW read) are charged
only for elements their core has not read before, so a re-read moves no bytes and
takes no time on the DRAM channel. The report then says what the program would
take if those re-reads were free (its "read_once" lists the tensors).

Exit status: 0 success, 1 an invalid program or file, or a failed check, 2 bad usage,
130 Ctrl-C, 143 SIGTERM.
"""


def json_safe(value):
    """``value`` with every non-finite float (NaN, infinity) as ``None``: valid JSON always."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def returning_freed_memory(done: Callable[[str, np.ndarray, int], None]):
    """``done``, then hand the memory of what was let go back to the system (glibc).

    Tensors of a few MiB that a streamed check lets go are freed inside malloc's heap,
    between live blocks, where glibc keeps them: RSS would grow to the sum of all the
    tensors ever made. ``malloc_trim`` returns every whole free page there. Elsewhere
    (no ``malloc_trim``) this is ``done`` itself.
    """
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return done

    handed = [0]  # bytes let go since the last trim

    def hook(name: str, values: np.ndarray, never: int) -> None:
        done(name, values, never)
        handed[0] += values.nbytes
        if handed[0] >= TRIM_BYTES:  # now and then: a trim walks the whole heap
            trim(0)  # what the previous calls let go
            handed[0] = values.nbytes  # this one goes after the call

    return hook


TRIM_BYTES = 64 << 20


def keeping_freed_memory() -> bool:
    """Ask glibc to keep the memory a timing run frees, for the run's next arrays.

    Preparing a program makes and drops many arrays of a few MiB each. glibc maps such
    blocks afresh and unmaps them when they are freed, so each new one faults its pages
    in again: some 14,000 page faults for a program of 300,000 instructions, a few per
    cent of its run. A timing run keeps them instead (blocks up to 32 MiB from the heap,
    its free top returned only past 256 MiB); its peak memory grows a little (148 to
    159 MiB there). A run on data does not: it returns what it lets go
    (``returning_freed_memory``). Elsewhere (no ``mallopt``) nothing changes. Returns
    whether glibc took both settings.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, 256 << 20)) & bool(mallopt(M_MMAP_THRESHOLD, 32 << 20))


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)


def seed(text: str) -> int:
    """An argparse ``type``: a seed, any whole number from 0 (numpy's generators take no
    negative one); one short line for what is not."""
    shown = text if len(text) <= 40 else f"{text[:20]}...{text[-8:]}"
    try:
        value = decimal_integer(text)
    except ValueError:
        digits = text.strip().lstrip("+-")
        if digits.isdigit():  # more digits than Python reads (4,300 by default)
            raise argparse.ArgumentTypeError(
                f"'{shown}' has {len(digits):,} digits, too many for a number"
            ) from None
        raise argparse.ArgumentTypeError(f"'{shown}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, not {shown}")
    return value


def note_overflowed_inputs(path: str, given: dict[str, np.ndarray], program: Program) -> None:
    """Print a note for each input of ``given`` (read from ``path``) that rounding to its
    tensor's type made infinite where the file holds finite values (fp16 beyond 65504, say).

    Only inputs that hold an infinity are looked at again in the file (already checked by
    ``read_inputs``); one the file itself gives as infinite is what the user asked for.
    """
    infinite = [name for name, values in given.items() if np.isinf(values).any()]
    if not infinite:
        return
    dtypes = {t.name: t.dtype for t in program.tensors}
    try:
        with np.load(path, allow_pickle=False) as archive:
            overflowed = [
                name
                for name in infinite
                if (np.isinf(given[name]) & np.isfinite(archive[name])).any()
            ]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # changed since
        return
    for name in overflowed:
        kind = dtypes[name].name.lower()
        print(
            f"igoc-sim: note: input '{name}' has values outside {kind}'s range, which become inf",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """Simulate as the arguments say; returns the exit status."""
    for output in (args.trace, args.outputs):  # before any work: an input is never replaced
        check_output(output, args.file, args.inputs)
    functional = bool(args.inputs or args.outputs or args.check)
    if not functional:
        keeping_freed_memory()
    program = read_npu(args.file)
    # the oracle's tensors first: a bad name ends the run before anything starts beside it
    read_once = list(dict.fromkeys(args.read_once))
    names = [t.name for t in program.tensors]
    unknown = [name for name in read_once if name not in set(names)]
    if unknown:
        shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        print(
            f"igoc-sim: error: --read-once: no tensor named {', '.join(map(repr, unknown))} in "
            f"{args.file}; its tensors: {shown}",
            file=sys.stderr,
        )
        return 2
    if args.read_once_dy:
        from igoc.sim.readonce import output_gradients

        if not program.reference:
            raise SimError(
                "--read-once-dy needs the program's reference ops to know its output "
                "gradients, and this program carries none (only programs made by the "
                "compiler do); name the tensors with --read-once"
            )
        gradients = output_gradients(program)
        if not gradients:
            raise SimError(
                "--read-once-dy: the program has no output gradient (no dX or dW among its "
                "reference ops)"
            )
        read_once += [name for name in gradients if name not in read_once]
    inputs = None
    if functional:  # the modules of runs on data, loaded only for those
        from igoc.sim.compare import StreamingCheck, check_outputs, generate_inputs
        from igoc.sim.inputs import cancel_draws, read_inputs

        # drawn beside the run, in the order the program reads them (``simulate``)
        inputs = generate_inputs(program, args.seed, background=True)
        drawings = list(inputs.values())  # (the check's thread changes ``inputs`` later)
        if args.inputs:  # these replace theirs, which are then never drawn
            given = read_inputs(args.inputs, program)
            note_overflowed_inputs(args.inputs, given, program)
            inputs.update(given)
    if args.check and program.reference is not None and not program.reference:
        raise SimError(
            "--check has nothing to compare: the program computes nothing (its source has "
            "no layer ops)"
        )
    if args.check and not program.reference:
        raise SimError(
            "--check needs the program's reference ops, and this program carries none "
            "(only programs made by the compiler do)"
        )
    streaming = None
    if args.check and not args.outputs:  # compare tensors as the program finishes them
        streaming = StreamingCheck(program, inputs, background=True)
        if not streaming.applies:
            streaming = None
    line = StatusLine("igoc-sim", sys.stderr)  # on a terminal: how far a run on data is

    def running(executed: int, total: int) -> None:
        line.show(f"running on data: {executed * 100 // total}% of {total:,} instructions")

    try:
        result = simulate(
            program,
            functional=functional,
            inputs=inputs,
            trace_path=args.trace,
            done=returning_freed_memory(streaming.done) if streaming else None,
            on_progress=running if line.enabled else None,
            read_once=read_once,
        )
    except BaseException:  # a failed or interrupted run: stop what runs beside it
        line.close()
        if functional:
            cancel_draws(drawings)
        if streaming:
            streaming.close()
        raise
    report = result.report
    status = 0
    if args.check:
        line.show("comparing with numpy")
        try:
            if streaming:
                report["check"] = streaming.finish(result.tensors, result.unwritten)
            else:
                report["check"] = check_outputs(program, inputs, result.tensors, result.unwritten)
        finally:
            line.close()
        status = 0 if report["check"]["passed"] else 1
    line.close()
    if args.outputs:
        arrays = {name: np.asarray(v) for name, v in result.outputs.items()}
        with open_output(args.outputs) as stream:
            np.savez(stream, **arrays)
    if args.json:
        write_output("-", json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    else:
        write_output("-", format_report(report))
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``igoc-sim``."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="igoc-sim",
        description="Simulate an igoc NPU program (.npu): cycles, DRAM traffic, stalls, "
        "utilization; with data when asked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("file", help="the .npu program ('-': standard input)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--trace", metavar="FILE.json", help="write Chrome trace events (Perfetto)")
    parser.add_argument(
        "--inputs", metavar="IN.npz", help="input tensors by name (functional mode)"
    )
    parser.add_argument("--outputs", metavar="OUT.npz", help="write output tensors by name")
    parser.add_argument(
        "--check", action="store_true", help="run on seeded inputs and compare with numpy"
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of generated inputs (default 0)")
    parser.add_argument(
        "--read-once",
        nargs="+",
        action="extend",
        metavar="TENSOR",
        default=[],
        help="an oracle: re-reads of these tensors are free (see below)",
    )
    parser.add_argument(
        "--read-once-dy",
        action="store_true",
        help="an oracle: re-reads of every output gradient (dY) are free",
    )
    args = parser.parse_args(argv)
    for option in ("trace", "outputs"):  # the report goes to standard output, always
        if getattr(args, option) == STDOUT:
            parser.error(f"argument --{option}: cannot be '-': standard output carries the report")
    if args.trace and args.outputs and same_file(args.trace, args.outputs):
        parser.error(f"--trace and --outputs both name '{args.outputs}'; give each its own file")
    return ending_on_signals("igoc-sim", lambda: _reported(args))


def _reported(args: argparse.Namespace) -> int:
    """``run``, each failure a message and an exit status."""
    try:
        return run(args)
    except (NpuFormatError, SimError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OutputError as err:
        print(err.headline(), file=sys.stderr)
        return 1
    except BrokenPipeError:
        sys.stderr.close()  # the reader of the report went away; nothing left to say
        return 0
    except OSError as err:
        print(f"error: {err.strerror or err}: {getattr(err, 'filename', '')}", file=sys.stderr)
        return 1
    except MemoryError:
        print("error: not enough memory for the program's tensors", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
