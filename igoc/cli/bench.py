"""``igoc-bench``: the paper's evaluation in one command (workloads x targets x pipelines).

Builds one job per (model, target, pipeline) (:func:`igoc.bench.plan.plan`:
targets with ``--set`` applied and ``--sweep`` expanded), takes what it can
from the cache, runs the rest on Dask (a local cluster of ``--jobs`` processes,
or the cluster at ``--scheduler``), and prints the paper-style tables (or
writes them as JSON, CSV, or a plot). ``--regime paper`` measures on the
paper's footing (its baseline, ``baseline-paper``); ``--decompose`` runs the
ladder from the paper's regime to the strong one (:mod:`igoc.bench.decompose`);
``--figures DIR`` writes the paper's figures beside igoc's
(:mod:`igoc.bench.figures`). See ``igoc/bench/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
from collections.abc import Iterator

from igoc import __version__
from igoc.bench.regime import DEFAULT_REGIME, REGIMES
from igoc.cli.common import (
    EXIT_INPUT_ERROR,
    EXIT_OK,
    UsageError,
    integer,
    run_tool,
    target_keys_help,
)
from igoc.output import OutputError, check_output, make_folder, same_file, write_output

EPILOG = """\
Defaults: targets edge, server, server-4c (batches 4, 8, 32: 8 per core on the
server NPUs); all nine networks (on edge their small variants: yolov2-tiny,
bert-tiny, t5-small); the regime's four pipelines. Every ratio is against the
regime's reference pipeline, which always runs. --quick: ncf and dlrm on edge
and server.

Regimes: strong (the default) compares against baseline, the strongest
conventional schedule igoc makes (searched tiles, the SPM planned over the whole
step); paper against baseline-paper, the paper's baseline (analytic tile sizes
in half the SPM, reuse only within that window), with the -paper pipelines:
baseline-paper, igo-interleave-paper, igo-rearrange-paper, igo-paper.

--decompose runs a ladder of configurations from the paper's regime to the
strong one, one mechanism switched per step, and prints igo's average reduction
against each step's own baseline, per target (--json: as JSON). --regime paper
--figures DIR writes the paper's figures (steps, per-model, cores, bandwidth,
batch, Algorithm 1, layers) with the paper's numbers beside igoc's, as .txt,
.csv and (with matplotlib) .png. Both honour --target (decompose only),
--model, --quick, --jobs and the cache; the full runs:

  igoc-bench --decompose --jobs 2
  igoc-bench --regime paper --figures figures --jobs 2

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

Exit status: 0 every job ran, 1 some job failed (the tables say which) or was
not in the cache (--cached-only), a step
of the decomposition cannot run on this igoc (a key its targets lack), or a bad
input or target file, 2 bad usage (an unknown model, target or pipeline, a
--set or --sweep value a target cannot take, options that do not go together),
130 Ctrl-C, 143 SIGTERM.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of igoc-bench."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
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
        help="pipelines to compare (default: the regime's: "
        + "; ".join(f"{name}: {', '.join(r.pipelines)}" for name, r in REGIMES.items())
        + ")",
    )
    add(
        "--regime",
        choices=tuple(REGIMES),
        help=f"the footing of the comparison (default {DEFAULT_REGIME}): strong, against "
        "baseline; paper, against baseline-paper, the paper's baseline",
    )
    add(
        "--decompose",
        action="store_true",
        help="the gap decomposed: igo's average reduction against each step's own baseline, "
        "from the paper's regime to the strong one, a mechanism per step",
    )
    add(
        "--figures",
        metavar="DIR",
        help="write the paper's figures to DIR, the paper's numbers beside igoc's "
        "(.txt, .csv, .png with matplotlib); needs --regime",
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
        type=integer,
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
        type=integer,
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
        type=integer,
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
    given: dict[str, str] = {}  # key -> the option that set it
    named = [f"--psum-bytes {args.psum_bytes}"] if args.psum_bytes is not None else []
    named += [f"--batch {args.batch}"] if args.batch is not None else []
    named += [f"--set {text}" for text in args.set or []]
    for (key, _), option in zip(settings, named, strict=True):
        if key in given:
            raise UsageError(f"{given[key]} and {option} both set {key}; give one")
        given[key] = option
    return settings, sweeps


@contextlib.contextmanager
def _planning() -> Iterator[None]:
    """Planning errors as the command reports them: bad names are bad usage (UsageError),
    unreadable model files input errors (_InputError)."""
    from igoc.bench.workloads import BenchUsageError

    try:
        yield
    except BenchUsageError as err:
        raise UsageError(str(err)) from None
    except (OSError, UnicodeDecodeError) as err:
        if isinstance(err, OSError) and err.filename is not None:
            why = (err.strerror or str(err)).lower()
            raise _InputError(f"cannot read model file '{err.filename}': {why}") from None
        raise _InputError(f"cannot read a model file: {err}") from None


def _batch_options(args: argparse.Namespace) -> list[str]:
    """The options that choose a batch: ``--batch``, and ``--set``/``--sweep`` of key batch."""
    options = [f"--batch {args.batch}"] if args.batch is not None else []
    for option, texts in (("--set", args.set), ("--sweep", args.sweep)):
        for text in texts or []:
            if text.partition("=")[0].strip() == "batch":
                options.append(f"{option} {text}")
    return options


def _check_fixed_batch(args: argparse.Namespace) -> None:
    """A batch cannot be chosen for a .mlir model: its file fixes it (UsageError)."""
    from igoc.bench.workloads import model_choice

    options = _batch_options(args)
    if not options or not args.model:
        return
    with _planning():
        files = [name for name in args.model if model_choice(name).path is not None]
    if files:
        raise UsageError(
            f"{options[0]}: model '{files[0]}' is a .mlir file, whose batch the file fixes; "
            "leave out the batch, or name a zoo model"
        )


def _targets(args: argparse.Namespace) -> list[str] | None:
    return list(dict.fromkeys(args.target)) if args.target else None


def _models_dir(args: argparse.Namespace) -> pathlib.Path | None:
    """The folder of ``--models-dir`` (UsageError if it is none: every model would quietly
    come from the zoo)."""
    if not args.models_dir:
        return None
    folder = pathlib.Path(args.models_dir)
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"--models-dir '{folder}' {why}")
    return folder


def _plan(args: argparse.Namespace):
    """The benchmark's plan (bad names: UsageError; unreadable model files: _InputError)."""
    from igoc.bench.plan import plan

    settings, sweeps = _settings(args)
    with _planning():
        return plan(
            targets=_targets(args),
            models=args.model,
            pipelines=args.pipeline,
            settings=settings,
            sweeps=sweeps,
            im2col=args.im2col,
            models_dir=_models_dir(args),
            quick=args.quick,
            regime=args.regime or DEFAULT_REGIME,
        )


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
    if args.cached_only and args.no_cache:
        raise UsageError("--cached-only needs the cache; it cannot go with --no-cache")
    inputs = [name for name in args.model or [] if name.endswith(".mlir")]
    inputs += [name for name in args.target or [] if name.endswith(".toml")]
    for output in (args.json, args.csv, args.plot):  # before any job (never an input)
        check_output(output, *inputs)
    files = [("--json", args.json), ("--csv", args.csv), ("--plot", args.plot)]
    files = [(option, path) for option, path in files if path not in (None, "-")]
    for i, (option, path) in enumerate(files):
        for other, second in files[i + 1 :]:
            if same_file(path, second):
                raise UsageError(f"{option} and {other} both name '{second}'; give each its file")
    if args.figures == "-":
        raise UsageError("--figures names a folder, and '-' (standard output) is not one")


def _check_modes(args: argparse.Namespace) -> None:
    """--decompose and --figures choose their own pipelines, and some targets and outputs."""
    if args.decompose and args.figures:
        raise UsageError("--decompose and --figures are two runs; give one of them")
    if args.decompose and args.regime:
        raise UsageError(
            "--decompose runs from the paper's regime to the strong one; it cannot go with --regime"
        )
    if args.figures and not args.regime:
        raise UsageError(
            "--figures needs --regime: paper (the paper's baseline, as the paper measures) "
            "or strong (against igoc's own baseline)"
        )
    mode = "--decompose" if args.decompose else "--figures" if args.figures else None
    if mode is None:
        return
    excluded = {
        "--pipeline": args.pipeline,
        "--sweep": args.sweep,
        "--csv": args.csv,
        "--plot": args.plot,
        "--layers": args.layers,
        "--timings": args.timings,
    }
    if args.figures:
        excluded |= {"--target": args.target, "--json": args.json}
    for option, value in excluded.items():
        if value:
            raise UsageError(f"{option} cannot go with {mode}: {_MODE_CHOOSES[mode]}")


_MODE_CHOOSES = {
    "--decompose": "it runs the ladder's pipelines on the targets, a column each, and writes "
    "its table as text or --json",
    "--figures": "each figure runs the paper's targets and pipelines, and DIR gets every table "
    "as .txt and .csv",
}


def run(args: argparse.Namespace) -> int:
    """Plan, run and report; the exit status."""
    from igoc.bench import plot

    _check_outputs(args)
    _check_modes(args)
    if not args.figures:  # --figures sets the batch itself, and says so
        _check_fixed_batch(args)
    if args.plot and not plot.available():
        print(f"igoc-bench: error: {plot.MISSING}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    try:
        if args.decompose:
            return _run_decompose(args)
        if args.figures:
            return _run_figures(args)
        planned = _plan(args)
        results = _execute(args, planned.jobs)
    except _InputError as err:
        print(f"igoc-bench: error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    bench = planned.bench(results)
    _report(bench, args, f"igoc {__version__}")
    failed = any(result.get("status") != "ok" for result in results)
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _execute(args: argparse.Namespace, jobs: list) -> list[dict]:
    """Every job's result (cache, Dask, progress); an unusable cluster is an _InputError."""
    from igoc.bench.cache import ResultCache, default_cache_dir
    from igoc.bench.runner import ClusterError, run_jobs, stderr_progress

    cache = None
    if not args.no_cache:
        folder = pathlib.Path(args.cache_dir) if args.cache_dir else default_cache_dir()
        cache = ResultCache(folder)
        problem = cache.problem(writing=not args.cached_only)
        if problem is None and args.cached_only and not folder.exists():
            print(
                f"igoc-bench: warning: cache folder '{folder}' does not exist; "
                "every job is reported as not run",
                file=sys.stderr,
            )
        if problem is not None:
            print(
                f"igoc-bench: warning: cache folder '{folder}' cannot be used ({problem}); "
                "results are not cached",
                file=sys.stderr,
            )
            cache = None
        else:
            # Jobs of one network share most schedule decisions (every pipeline's forward ops,
            # the baseline's GEMMs inside the fused candidates): the workers keep them there.
            os.environ.setdefault("IGOC_DECISION_CACHE", str(folder / "decisions"))
    progress = stderr_progress(not args.quiet)
    try:
        results = run_jobs(jobs, args.jobs or 1, cache, progress, args.cached_only, args.scheduler)
    except ClusterError as err:
        raise _InputError(str(err)) from None
    if cache is not None and cache.rejected:
        count = len(cache.rejected)
        print(
            f"igoc-bench: warning: {count} cache entr{'y' if count == 1 else 'ies'} failed "
            f"the integrity check and {'was' if count == 1 else 'were'} computed again "
            f"(first: {cache.rejected[0]})",
            file=sys.stderr,
        )
    return results


def _run_decompose(args: argparse.Namespace) -> int:
    """The ladder's steps as one run; the table (or JSON); exit 1 if a step could not run."""
    import json

    from igoc.bench import decompose
    from igoc.bench.plan import jobs_of, split_results

    settings, _ = _settings(args)
    with _planning():
        columns, steps = decompose.plan_ladder(
            decompose.LADDER,
            targets=_targets(args),
            models=args.model,
            settings=settings,
            im2col=args.im2col,
            models_dir=_models_dir(args),
            quick=args.quick,
        )
    plans = [step.plan for step in steps if step.plan is not None]
    results = _execute(args, jobs_of(plans))
    done = decompose.results_of(columns, steps, split_results(plans, results))
    for step in steps:
        if step.error:
            print(f"igoc-bench: error: {step.error}", file=sys.stderr)
    if args.json:
        document = decompose.document(done, f"igoc {__version__}")
        write_output(args.json, json.dumps(document, indent=1) + "\n")
    if args.json != "-":
        sys.stdout.write(decompose.render(done))
        sys.stdout.flush()
    failed = any(step.error for step in steps) or any(r.get("status") != "ok" for r in results)
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _run_figures(args: argparse.Namespace) -> int:
    """Every figure's jobs as one run; the tables into DIR and on stdout."""
    from igoc.bench import figures, plot
    from igoc.bench.plan import jobs_of, split_results
    from igoc.bench.tables import failures

    settings, _ = _settings(args)
    with _planning():
        planned = figures.plan_figures(
            args.regime,
            models=args.model,
            settings=settings,
            im2col=args.im2col,
            models_dir=_models_dir(args),
            quick=args.quick,
        )
    folder = pathlib.Path(args.figures)
    try:
        make_folder(folder, "--figures")
    except OutputError as err:
        raise _InputError(err.message) from None
    plans = list(planned.plans.values())
    split = split_results(plans, _execute(args, jobs_of(plans)))
    plots = plot.available()
    text, written = figures.write_figures(folder, planned, split, plots)
    sys.stdout.write(text)
    benches = [item.bench(records) for item, records in zip(plans, split, strict=True)]
    failed = list(dict.fromkeys(line for bench in benches for line in failures(bench)))
    if failed:
        sys.stdout.write(f"\n{len(failed)} job(s) failed:\n" + "".join(f"  {x}\n" for x in failed))
    sys.stdout.flush()
    if not args.quiet:
        note = "" if plots else " (no .png: matplotlib is not installed; pip install matplotlib)"
        print(f"igoc-bench: wrote {len(written)} files to {folder}{note}", file=sys.stderr)
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
