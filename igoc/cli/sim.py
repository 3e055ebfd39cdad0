"""``igoc-sim FILE.npu``: simulate an NPU program; timing, and with data when asked."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from igoc.isa.npufile import NpuFormatError, read_npu
from igoc.isa.numerics import round_to
from igoc.output import OutputError, open_output, write_output
from igoc.sim import SimError, simulate
from igoc.sim.check import RULE, check_outputs, generate_inputs
from igoc.sim.report import format_report

EPILOG = f"""\
Functional mode (--inputs, --outputs or --check) runs the program on data: input
tensors come from a seeded normal generator (weights scaled by 1/sqrt(fan-in)),
replaced by the arrays of --inputs where given (keyed by tensor name). bf16
tensors are read and written as float32 arrays.

--check compares every tensor that the program's reference ops produce with numpy
(igoc.reference) and fails (exit status 1) unless, for each, {RULE}.

Exit status: 0 success, 1 an invalid program or file, or a failed check, 2 bad usage.
"""


def _load_inputs(path: str, program) -> dict[str, np.ndarray]:
    decls = {t.name: t for t in program.tensors}
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        raise SimError(f"cannot read inputs {path}: {err}") from None
    out = {}
    for name, value in arrays.items():
        decl = decls.get(name)
        if decl is None or decl.role != "input":
            known = ", ".join(t.name for t in program.tensors if t.role == "input") or "none"
            raise SimError(
                f"{path}: '{name}' is not an input tensor of the program; inputs: {known}"
            )
        if tuple(value.shape) != decl.shape:
            raise SimError(
                f"{path}: '{name}' has shape {tuple(value.shape)}, expected {decl.shape}"
            )
        if value.dtype.kind not in "fiu":
            raise SimError(f"{path}: '{name}' holds {value.dtype}, not numbers")
        out[name] = round_to(value.astype(np.float32), decl.dtype)
    return out


def run(args: argparse.Namespace) -> int:
    """Simulate as the arguments say; returns the exit status."""
    program = read_npu(args.file)
    functional = bool(args.inputs or args.outputs or args.check)
    inputs = None
    if functional:
        inputs = generate_inputs(program, args.seed)
        if args.inputs:
            inputs.update(_load_inputs(args.inputs, program))
    if args.check and not program.reference:
        raise SimError(
            "--check needs the program's reference ops, and this program carries none "
            "(only programs made by the compiler do)"
        )
    result = simulate(program, functional=functional, inputs=inputs, trace_path=args.trace)
    report = result.report
    status = 0
    if args.check:
        report["check"] = check_outputs(program, inputs, result.tensors)
        status = 0 if report["check"]["passed"] else 1
    if args.outputs:
        arrays = {name: np.asarray(v) for name, v in result.outputs.items()}
        with open_output(args.outputs) as stream:
            np.savez(stream, **arrays)
    if args.json:
        write_output("-", json.dumps(report, indent=2) + "\n")
    else:
        write_output("-", format_report(report))
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``igoc-sim``."""
    parser = argparse.ArgumentParser(
        prog="igoc-sim",
        description="Simulate an igoc NPU program (.npu): cycles, DRAM traffic, stalls, "
        "utilization; with data when asked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the .npu program")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--trace", metavar="FILE.json", help="write Chrome trace events (Perfetto)")
    parser.add_argument(
        "--inputs", metavar="IN.npz", help="input tensors by name (functional mode)"
    )
    parser.add_argument("--outputs", metavar="OUT.npz", help="write output tensors by name")
    parser.add_argument(
        "--check", action="store_true", help="run on seeded inputs and compare with numpy"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of generated inputs (default 0)")
    args = parser.parse_args(argv)
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
