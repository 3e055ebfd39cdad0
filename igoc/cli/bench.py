"""``igoc-bench``: the paper's evaluation in one command (workloads x targets x pipelines).

Builds one job per (model, target, pipeline) (:func:`igoc.bench.plan.plan`:
targets with ``--set`` applied and ``--sweep`` expanded), takes what it can
from the cache, runs the rest on Dask (a local cluster of ``--jobs`` processes,
or the cluster at ``--scheduler``), and prints the paper-style tables (or
writes them as JSON, CSV, or a plot). See ``igoc/bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from igoc import __version__
from igoc.bench.plan import PIPELINE_ORDER
from igoc.cli.common import EXIT_INPUT_ERROR, EXIT_OK, UsageError, run_tool, target_keys_help
from igoc.output import write_output

EPILOG = """\
Defaults: targets edge, server, server-4c (batches 4, 8, 32: 8 per core on the
server NPUs); all nine networks (on edge their small variants: yolov2-tiny,
bert-tiny, t5-small); the four pipelines. Every ratio is against baseline,
which always runs. --quick: ncf and dlrm on edge and server.

A sweep is one command: --sweep dram_bandwidth_gb_per_s=11,22,44 batch=4,8
runs every combination of the values on every target (any target key, and
variant and batch); --set KEY=VALUE replaces a key on every target. Targets
changed so are named after what changed: edge[dram_bandwidth_gb_per_s=11].

{target_keys}

Jobs run on Dask: with --jobs N on a local cluster of N processes that
igoc-bench starts and stops (--jobs 1: in this process), with --scheduler
ADDRESS on a running cluster. Results are cached per job in --cache-dir, keyed
by the content of the input, the target and the pipeline and by igoc's own
source, so a rerun is instant and a changed compiler recomputes.

Exit status: 0 every job ran, 1 some job failed (the tables say which) or a bad
input file, 2 bad usage (an unknown model, target or pipeline).
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of igoc-bench."""
    parser = argparse.ArgumentParser(
        prog="igoc-bench",
        description="Compile and simulate the paper's workloads for several NPU targets and "
        "pipelines; print execution time and DRAM traffic normalised to the baseline.",
        epilog=EPILOG.format(target_keys=target_keys_help()),
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
    add(
        "--set",
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="replace a key of every target, typed by the key (e.g. psum_bytes=4, batch=16)",
    )
    add(
        "--sweep",
        nargs="+",
        action="extend",
        metavar="KEY=V1,V2",
        help="run every target with each value of each key (all combinations): "
        "any target key, variant or batch",
    )
    add(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="worker processes of the local Dask cluster (default 1: run in this process)",
    )
    add(
        "--scheduler",
        metavar="ADDRESS",
        help="submit the jobs to the Dask cluster of this scheduler (tcp://host:8786)",
    )
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
        help="width of partial sums spilled to DRAM (default: the target's; as --set psum_bytes)",
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
        help="batch of every target (default: the target's, 4 on edge, 8 per core on the "
        "server NPUs; as --set batch)",
    )
    add(
        "--models-dir",
        metavar="DIR",
        help="where <model>-b<batch>.mlir files are read (default samples/models; "
        "a missing file is generated from the zoo)",
    )
    add("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    return parser


def _settings(args: argparse.Namespace) -> tuple[list, list]:
    """The settings (``--psum-bytes``, ``--batch``, then ``--set``) and the sweeps, typed."""
    from igoc.target import SettingError, parse_setting, parse_sweep

    settings: list = []
    if args.psum_bytes is not None:
        settings.append(("psum_bytes", args.psum_bytes))
    if args.batch is not None:
        settings.append(("batch", args.batch))
    for option, texts, parse, into in (
        ("--set", args.set, parse_setting, settings),
        ("--sweep", args.sweep, parse_sweep, sweeps := []),
    ):
        for text in texts or []:
            try:
                into.append(parse(text))
            except SettingError as err:
                raise UsageError(f"{option} {text}: {err}") from None
    return settings, sweeps


def _plan(args: argparse.Namespace):
    """The benchmark's plan (bad names: UsageError; unreadable model files: _InputError)."""
    from igoc.bench.plan import plan
    from igoc.bench.workloads import BenchUsageError

    settings, sweeps = _settings(args)
    try:
        return plan(
            targets=list(dict.fromkeys(args.target)) if args.target else None,
            models=args.model,
            pipelines=args.pipeline,
            settings=settings,
            sweeps=sweeps,
            im2col=args.im2col,
            models_dir=pathlib.Path(args.models_dir) if args.models_dir else None,
            quick=args.quick,
        )
    except BenchUsageError as err:
        raise UsageError(str(err)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise _InputError(f"cannot read a model file: {err}") from None


class _InputError(Exception):
    """An input that cannot be read, or a cluster that cannot be used (exit 1)."""


def _check_outputs(args: argparse.Namespace) -> None:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.jobs is not None and args.scheduler is not None:
        raise UsageError("--jobs sizes the local cluster; with --scheduler the cluster is given")
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
    try:
        planned = _plan(args)
    except _InputError as err:
        print(f"igoc-bench: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR

    from igoc.bench.cache import ResultCache, default_cache_dir
    from igoc.bench.runner import ClusterError, run_jobs, stderr_progress

    cache = None
    if not args.no_cache:
        folder = pathlib.Path(args.cache_dir) if args.cache_dir else default_cache_dir()
        cache = ResultCache(folder)
        # Jobs of one network share most schedule decisions (every pipeline's forward ops,
        # the baseline's GEMMs inside the fused candidates): the workers keep them there.
        os.environ.setdefault("IGOC_DECISION_CACHE", str(folder / "decisions"))
    progress = stderr_progress(not args.quiet)
    try:
        results = run_jobs(
            planned.jobs, args.jobs or 1, cache, progress, args.cached_only, args.scheduler
        )
    except ClusterError as err:
        print(f"igoc-bench: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    if cache is not None and cache.rejected:
        count = len(cache.rejected)
        print(
            f"igoc-bench: warning: {count} cache entr{'y' if count == 1 else 'ies'} failed "
            f"the integrity check and {'was' if count == 1 else 'were'} computed again "
            f"(first: {cache.rejected[0]})",
            file=sys.stderr,
        )
    bench = planned.bench(results)
    _report(bench, args, f"igoc {__version__}")
    failed = any(result.get("status") != "ok" for result in results)
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
