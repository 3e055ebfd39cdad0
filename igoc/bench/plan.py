"""A benchmark's plan: its target runs, the workloads on each, and one job per pipeline.

:func:`plan` is what ``igoc-bench`` runs, as a function: it expands targets,
settings and sweeps into target runs (:mod:`igoc.bench.workloads`), reads or
renders each model at each run's batch, and lists the jobs in table order
(per target run, per workload, per pipeline). The jobs are plain data, so
they can be run by :func:`igoc.bench.runner.run_jobs` or mapped with
:func:`igoc.bench.jobs.run_job` on any executor; :meth:`Plan.bench` turns
their results, in the same order, into the tables' input.

A plan belongs to a regime (:mod:`igoc.bench.regime`), which names its
reference pipeline and its default pipelines. Several plans run as one
(:func:`jobs_of`, :func:`split_results`): the decomposition and the paper's
figures are a plan per step or per figure, and their jobs one run, so equal
jobs run once and the cache serves them all.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from igoc.bench import workloads as w
from igoc.bench.jobs import IM2COL_MODES, Job, pass_pipeline_for
from igoc.bench.regime import DEFAULT_REGIME, REGIMES, bench_pipelines
from igoc.bench.tables import Bench, Row, TargetResults

PIPELINE_ORDER = REGIMES[DEFAULT_REGIME].pipelines
"""The pipelines of a full run in the default regime: the baseline and the paper's three
cumulative steps."""

REFERENCE = REGIMES[DEFAULT_REGIME].reference
"""The pipeline every ratio is against in the default regime; it always runs."""


@dataclass(frozen=True)
class Plan:
    """The target runs of a benchmark, the workloads of each, and every job in table order."""

    pipelines: list[str]
    runs: list[tuple[w.TargetRun, list[w.Workload]]]
    jobs: list[Job]
    im2col: str = "on-the-fly"
    reference: str = REFERENCE
    regime: str = DEFAULT_REGIME

    def bench(self, results: Sequence[dict]) -> Bench:
        """The benchmark's tables' input from the results of :attr:`jobs`, in their order."""
        if len(results) != len(self.jobs):
            raise ValueError(f"{len(results)} results for {len(self.jobs)} jobs")
        records = iter(results)
        targets = []
        for run, loads in self.runs:
            rows = [Row(load, {p: next(records) for p in self.pipelines}) for load in loads]
            targets.append(TargetResults(run, rows))
        return Bench(self.pipelines, self.reference, targets, self.im2col, self.regime)


def valid_pipelines() -> list[str]:
    """Every pipeline igoc-bench runs: the compiler's named pipelines, then its own."""
    from igoc.pipeline import PIPELINES

    return [name for name in PIPELINES if name != "none"] + list(bench_pipelines())


def pipelines_of(
    names: Sequence[str] | None, regime: str = DEFAULT_REGIME, reference: str | None = None
) -> list[str]:
    """The reference pipeline, then the others named (default: the regime's pipelines).

    ``reference``: the pipeline every ratio is against (default: the regime's).
    """
    chosen_regime = REGIMES[regime]
    valid = valid_pipelines()
    chosen = [reference or chosen_regime.reference]
    for name in [*chosen, *(names or chosen_regime.pipelines)]:
        if name not in valid:
            raise w.BenchUsageError(f"unknown pipeline '{name}'; pipelines: {', '.join(valid)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def pipeline_spec(pipeline: str, im2col: str) -> str | None:
    """The pass-pipeline spec a job of ``pipeline`` runs (None: the compiler's named pipeline).

    igoc-bench's own pipelines (:func:`~igoc.bench.regime.bench_pipelines`) always
    carry their spec; conv-to-gemm's im2col option is set as for the others.
    """
    own = bench_pipelines()
    if pipeline not in own:
        return pass_pipeline_for(pipeline, im2col)
    from igoc.pipeline import pass_specs

    if im2col == "on-the-fly":
        return own[pipeline]
    im2col_pass = f"conv-to-gemm{{im2col={im2col}}}"
    specs = [im2col_pass if spec == "conv-to-gemm" else spec for spec in pass_specs(own[pipeline])]
    return ",".join(specs)


def plan(
    targets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    pipelines: Sequence[str] | None = None,
    settings: Sequence[w.Setting] = (),
    sweeps: Sequence[w.Sweep] = (),
    im2col: str = "on-the-fly",
    models_dir: pathlib.Path | None = None,
    quick: bool = False,
    regime: str = DEFAULT_REGIME,
    reference: str | None = None,
) -> Plan:
    """The plan of a benchmark, with ``igoc-bench``'s defaults for what is not given.

    ``targets``, ``models`` and ``pipelines`` are names as ``igoc-bench`` takes them (a
    single name may be given as a string).

    ``settings`` replace target keys on every target (``[("psum_bytes", 4)]``);
    ``sweeps`` give keys several values (``[("dram_bandwidth_gb_per_s", [11.0,
    22.0])]``), one target run per combination. ``regime`` (``strong`` or
    ``paper``) chooses the reference pipeline and the default pipelines;
    ``reference`` replaces the regime's reference. Raises
    :class:`~igoc.bench.workloads.BenchUsageError` for an unknown name,
    ``TargetError`` for a bad target, ``OSError`` for an unreadable model file.
    """
    # One name given as a string is that name (a string is a sequence of its letters).
    targets, models, pipelines = (
        [names] if isinstance(names, str) else names for names in (targets, models, pipelines)
    )
    if im2col not in IM2COL_MODES:
        raise w.BenchUsageError(f"unknown im2col mode '{im2col}'; modes: {', '.join(IM2COL_MODES)}")
    if regime not in REGIMES:
        raise w.BenchUsageError(f"unknown regime '{regime}'; regimes: {', '.join(REGIMES)}")
    chosen = pipelines_of(pipelines, regime, reference)
    specs = targets or (w.QUICK_TARGETS if quick else w.DEFAULT_TARGETS)
    runs = w.target_runs(specs, settings, sweeps)
    choices = (
        [w.model_choice(name) for name in dict.fromkeys(models)]
        if models
        else w.default_models(quick)
    )
    labels: dict[str, str] = {}  # the tables' row name -> the model named so
    for name, choice in zip(dict.fromkeys(models or []), choices, strict=False):
        first = labels.setdefault(choice.label, name)
        if first != name:
            raise w.BenchUsageError(
                f"models '{first}' and '{name}' are both named '{choice.label}' in the "
                "tables; rename one of the files"
            )
    folder = models_dir if models_dir is not None else w.samples_dir()
    planned = [(run, [w.workload(choice, run, folder) for choice in choices]) for run in runs]
    specs_of = {p: pipeline_spec(p, im2col) for p in chosen}
    jobs = [
        Job(
            row=load.row,
            model=load.model,
            batch=load.batch,
            input_name=load.input_name,
            text=load.text,
            target_name=run.name,
            target_toml=run.target.to_toml(),
            pipeline=pipeline,
            pass_pipeline=specs_of[pipeline],
        )
        for run, loads in planned
        for load in loads
        for pipeline in chosen
    ]
    return Plan(chosen, planned, jobs, im2col, chosen[0], regime)


def jobs_of(plans: Sequence[Plan]) -> list[Job]:
    """The jobs of several plans, in order, as one list (equal jobs run once: same key)."""
    return [job for planned in plans for job in planned.jobs]


def split_results(plans: Sequence[Plan], results: Sequence[dict]) -> list[list[dict]]:
    """The results of :func:`jobs_of`, cut back into each plan's, in order."""
    if len(results) != sum(len(planned.jobs) for planned in plans):
        raise ValueError(f"{len(results)} results for the jobs of {len(plans)} plans")
    out, start = [], 0
    for planned in plans:
        out.append(list(results[start : start + len(planned.jobs)]))
        start += len(planned.jobs)
    return out
