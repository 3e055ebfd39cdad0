"""``igoc-bench``: the paper's evaluation in one command (workloads x targets x pipelines).

Builds one job per (model, target, pipeline), takes what it can from the cache,
runs the rest in parallel processes, and prints the paper-style tables (or
writes them as JSON, CSV, or a plot). See ``igoc/bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from igoc import __version__
from igoc.cli.common import EXIT_INPUT_ERROR, EXIT_OK, UsageError, run_tool
from igoc.output import write_output

PIPELINE_ORDER = ("baseline", "igo-interleave", "igo-rearrange", "igo")
"""The pipelines of a full run: the baseline and the paper's three cumulative steps."""

REFERENCE = "baseline"

EPILOG = """\
Defaults: targets edge, server, server-4c (batches 4, 8, 32: 8 per core on the
server NPUs); all nine networks (on edge their small variants: yolov2-tiny,
bert-tiny, t5-small); the four pipelines. Every ratio is against baseline,
which always runs. --quick: ncf and dlrm on edge and server.

Results are cached per job in --cache-dir, keyed by the content of the input,
the target and the pipeline and by igoc's own source, so a rerun is instant and
a changed compiler recomputes.

Exit status: 0 every job ran, 1 some job failed (the tables say which) or a bad
input file, 2 bad usage (an unknown model, target or pipeline).
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of igoc-bench."""
    parser = argparse.ArgumentParser(
        prog="igoc-bench",
        description="Compile and simulate the paper's workloads for several NPU targets and "
        "pipelines; print execution time and DRAM traffic normalised to the baseline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--version", action="version", version=f"%(prog)s {__version__}")
    add(
        "--target",
        nargs="+",
        action="extend",
        metavar="T",
        help="preset (edge, server, server-2c, server-4c, server-8c) or a .toml file",
    )
    add(
        "--model",
        nargs="+",
        action="extend",
        metavar="M",
        help="network label (rcnn, goo, ncf, res, dlrm, mob, yolo, bert, t5), a zoo model "
        "(resnet50, yolov2-tiny, ...) or a .mlir file",
    )
    add(
        "--pipeline",
        nargs="+",
        action="extend",
        metavar="P",
        help=f"pipelines to compare (default: {', '.join(PIPELINE_ORDER)})",
    )
    add("--jobs", "-j", type=int, default=1, metavar="N", help="worker processes (default 1)")
    add("--quick", action="store_true", help="a small subset, fast enough for CI")
    add("--json", metavar="FILE", help="write the results as JSON ('-': standard output)")
    add("--csv", metavar="FILE", help="write one row per job as CSV ('-': standard output)")
    add("--plot", metavar="FILE.png", help="draw grouped bars (needs matplotlib)")
    add("--layers", action="store_true", help="per-layer schedules, traffic, cycles and bounds")
    add(
        "--timings",
        action="store_true",
        help="add compile and simulation seconds and peak memory of each job (not reproducible)",
    )
    add("--cache-dir", metavar="DIR", help="result cache (default ~/.cache/igoc-bench)")
    add("--no-cache", action="store_true", help="neither read nor write the cache")
    add(
        "--cached-only",
        action="store_true",
        help="run nothing: report the jobs in the cache, the others as not run",
    )
    add(
        "--psum-bytes",
        type=int,
        choices=(2, 4),
        help="width of partial sums spilled to DRAM (default: the target's)",
    )
    add(
        "--im2col",
        choices=("on-the-fly", "materialize"),
        default="on-the-fly",
        help="how convolutions read X and write dX (conv-to-gemm's im2col option)",
    )
    add(
        "--batch",
        type=int,
        metavar="N",
        help="batch of every target (default 4 on edge, 8 per core on server NPUs)",
    )
    add(
        "--models-dir",
        metavar="DIR",
        help="where <model>-b<batch>.mlir files are read (default samples/models; "
        "a missing file is generated from the zoo)",
    )
    add("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    return parser


def _pipelines(names: list[str] | None) -> list[str]:
    from igoc.pipeline import PIPELINES

    valid = [name for name in PIPELINES if name != "none"]
    chosen = [REFERENCE]
    for name in names or PIPELINE_ORDER:
        if name not in valid:
            raise UsageError(f"unknown pipeline '{name}'; pipelines: {', '.join(valid)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _plan(args: argparse.Namespace):
    """Target runs, and per target run its workloads."""
    from igoc.bench import workloads as w

    try:
        runs = [
            w.target_run(spec, args.psum_bytes, args.batch)
            for spec in dict.fromkeys(
                args.target or (w.QUICK_TARGETS if args.quick else w.DEFAULT_TARGETS)
            )
        ]
        choices = (
            [w.model_choice(name) for name in dict.fromkeys(args.model)]
            if args.model
            else w.default_models(args.quick)
        )
    except w.BenchUsageError as err:
        raise UsageError(str(err)) from None
    models_dir = pathlib.Path(args.models_dir) if args.models_dir else w.samples_dir()
    plan = []
    for run in runs:
        try:
            loads = [w.workload(choice, run, models_dir) for choice in choices]
        except (OSError, UnicodeDecodeError) as err:
            raise _InputError(f"cannot read a model file: {err}") from None
        plan.append((run, loads))
    return plan


class _InputError(Exception):
    """An input that cannot be read (exit 1)."""


def _check_outputs(args: argparse.Namespace) -> None:
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.batch is not None and args.batch < 1:
        raise UsageError("--batch must be at least 1")
    if args.json == "-" and args.csv == "-":
        raise UsageError("--json - and --csv - cannot both write to standard output")


def run(args: argparse.Namespace) -> int:
    """Plan, run and report; the exit status."""
    from igoc.bench import plot

    _check_outputs(args)
    if args.cached_only and args.no_cache:
        raise UsageError("--cached-only needs the cache; it cannot go with --no-cache")
    if args.plot and not plot.available():
        print(f"igoc-bench: error: {plot.MISSING}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    pipelines = _pipelines(args.pipeline)
    try:
        plan = _plan(args)
    except _InputError as err:
        print(f"igoc-bench: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR

    from igoc.bench.cache import ResultCache, default_cache_dir
    from igoc.bench.jobs import Job, pass_pipeline_for
    from igoc.bench.runner import run_jobs, stderr_progress
    from igoc.bench.tables import Bench, Row, TargetResults

    specs = {p: pass_pipeline_for(p, args.im2col) for p in pipelines}
    jobs = [
        Job(
            row=load.row,
            model=load.model,
            batch=load.batch,
            input_name=load.input_name,
            text=load.text,
            target_name=target_run.name,
            target_toml=target_run.target.to_toml(),
            pipeline=pipeline,
            pass_pipeline=specs[pipeline],
        )
        for target_run, loads in plan
        for load in loads
        for pipeline in pipelines
    ]
    cache = None
    if not args.no_cache:
        folder = pathlib.Path(args.cache_dir) if args.cache_dir else default_cache_dir()
        cache = ResultCache(folder)
        # Jobs of one network share most schedule decisions (every pipeline's forward ops,
        # the baseline's GEMMs inside the fused candidates): the workers keep them there.
        os.environ.setdefault("IGOC_DECISION_CACHE", str(folder / "decisions"))
    progress = stderr_progress(not args.quiet)
    results = iter(run_jobs(jobs, args.jobs, cache, progress, args.cached_only))
    if cache is not None and cache.rejected:
        count = len(cache.rejected)
        print(
            f"igoc-bench: warning: {count} cache entr{'y' if count == 1 else 'ies'} failed "
            f"the integrity check and {'was' if count == 1 else 'were'} computed again "
            f"(first: {cache.rejected[0]})",
            file=sys.stderr,
        )
    targets = []
    for target_run, loads in plan:
        rows = [Row(load, {p: next(results) for p in pipelines}) for load in loads]
        targets.append(TargetResults(target_run, rows))
    bench = Bench(pipelines, REFERENCE, targets, args.im2col)
    _report(bench, args, f"igoc {__version__}")
    failed = any(
        result.get("status") != "ok"
        for target in targets
        for row in target.rows
        for result in row.results.values()
    )
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _report(bench, args: argparse.Namespace, compiler: str) -> None:
    from igoc.bench import export, layers, plot, tables

    if args.json:
        write_output(args.json, export.to_json(bench, compiler, args.layers, args.timings))
    if args.csv:
        write_output(args.csv, export.to_csv(bench, args.timings))
    if args.plot:
        plot.write_plot(bench, args.plot)
    if "-" in (args.json, args.csv):
        return
    text = tables.render_tables(bench)
    if args.layers:
        text += "\n" + layers.render_layers(bench)
    if args.timings:
        text += "\n" + tables.render_timings(bench)
    sys.stdout.write(text)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``igoc-bench``."""
    args = build_parser().parse_args(argv)
    return run_tool("igoc-bench", lambda: run(args), {})


if __name__ == "__main__":
    sys.exit(main())
