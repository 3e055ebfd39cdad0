"""igoc-import: an ONNX model or a SCALE-Sim topology as igoc input.

    igoc-import MODEL [-o OUT.mlir] [--batch N] [--dim NAME=SIZE ...] [--format F]

Writes one ``func.func`` per imported layer (``igoc.importer``), with a header
that lists what was skipped and why; ``igoc``, ``igoc-bench --model OUT.mlir``
and ``--layers`` read the file as they read igoc's samples. A one-line summary
goes to standard error unless ``-q``.
"""

from __future__ import annotations

import argparse
import sys

from igoc import __version__
from igoc.cli.common import (
    EXIT_INPUT_ERROR,
    UsageError,
    decimal_integer,
    run_tool,
    whole_number,
)
from igoc.limits import MAX_DIM
from igoc.output import check_output, write_output

PROG = "igoc-import"

EPILOG = """\
ONNX models need the onnx package (pip install 'igoc[onnx]'). Their batch is
--batch when the model's batch axis is symbolic (it must match a fixed one);
other symbolic dimensions take their size from --dim NAME=SIZE. SCALE-Sim
topologies (.csv, convolution or GEMM format) have no batch: --batch (default
1) is each convolution's N and multiplies each GEMM's M.

From PyTorch:
  torch.onnx.export(model, (x,), "model.onnx", dynamic_shapes=({0: torch.export.Dim("batch")},))
  igoc-import model.onnx -o model.mlir --batch 4 && igoc-bench --model model.mlir --target edge

Exit status: 0 success, 1 a model that cannot be imported, 2 bad usage, 130
Ctrl-C, 143 SIGTERM.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog=PROG,
        description="Import an ONNX model or a SCALE-Sim topology as igoc input (grad IR).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("model", metavar="MODEL", help="an .onnx model or a SCALE-Sim .csv file")
    parser.add_argument(
        "-o", "--output", metavar="OUT.mlir", default="-", help="output file (default: stdout)"
    )
    parser.add_argument(
        "--batch", type=_batch, metavar="N", help=f"the batch, 1 to {MAX_DIM:,} (see below)"
    )
    parser.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=SIZE",
        help="the size of a symbolic dimension of an ONNX model's inputs (repeatable)",
    )
    parser.add_argument(
        "--format", choices=("onnx", "scalesim"), help="the model's format (default: guessed)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    return parser


_positive = whole_number(1)


def _batch(text: str) -> int:
    """An argparse ``type``: a batch, a whole number from 1 to igoc's limit on a dimension."""
    value = _positive(text)
    if value > MAX_DIM:
        raise argparse.ArgumentTypeError(
            f"{value:,} is beyond igoc's limit of {MAX_DIM:,} (a tensor dimension)"
        )
    return value


def _dims(specs: list[str]) -> dict[str, int]:
    dims = {}
    for spec in specs:
        name, equal, size = spec.partition("=")
        if not equal or not name.strip():
            raise UsageError(f"--dim takes NAME=SIZE, got '{spec}'")
        try:
            value = decimal_integer(size)
        except ValueError:
            raise UsageError(f"--dim {spec}: '{size}' is not a whole number") from None
        if value < 1:
            raise UsageError(f"--dim {spec}: the size must be positive")
        if name.strip() in dims:
            raise UsageError(f"--dim {name.strip()} is given twice; give it once")
        dims[name.strip()] = value
    return dims


def main(argv: list[str] | None = None) -> int:
    """Run igoc-import with ``argv`` (default: the command line); return the exit status."""
    args = _parser().parse_args(argv)
    return run_tool(PROG, lambda: _import(args), {})


def _import(args: argparse.Namespace) -> int:
    from igoc.importer import ModelImportError, guess_format, import_model

    check_output(args.output, args.model)  # before any work (the model is never replaced)
    dims = _dims(args.dim)
    fmt = args.format or guess_format(args.model)
    if dims and fmt != "onnx":
        raise UsageError("--dim applies to ONNX models only")
    try:
        imported = import_model(args.model, batch=args.batch, dims=dims, format=fmt)
    except ModelImportError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    write_output(args.output, imported.text())
    if not args.quiet:
        skipped = len(imported.skipped)
        layers = len(imported.layers)
        where = "the output's header" if args.output == "-" else f"the header of {args.output}"
        print(
            f"{PROG}: {layers} {'layer' if layers == 1 else 'layers'} imported "
            f"({imported.counts()}) from {imported.source}; "
            f"{skipped} {'node' if fmt == 'onnx' else 'row'}{'' if skipped == 1 else 's'} skipped"
            + (f" (listed in {where})" if skipped else ""),
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
