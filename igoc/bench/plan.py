"""A benchmark's plan: its target runs, the workloads on each, and one job per pipeline.

:func:`plan` is what ``igoc-bench`` runs, as a function: it expands targets,
settings and sweeps into target runs (:mod:`igoc.bench.workloads`), reads or
renders each model at each run's batch, and lists the jobs in table order
(per target run, per workload, per pipeline). The jobs are plain data, so
they can be run by :func:`igoc.bench.runner.run_jobs` or mapped with
:func:`igoc.bench.jobs.run_job` on any executor; :meth:`Plan.bench` turns
their results, in the same order, into the tables' input.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from igoc.bench import workloads as w
from igoc.bench.jobs import IM2COL_MODES, Job, pass_pipeline_for
from igoc.bench.tables import Bench, Row, TargetResults

PIPELINE_ORDER = ("baseline", "igo-interleave", "igo-rearrange", "igo")
"""The pipelines of a full run: the baseline and the paper's three cumulative steps."""

REFERENCE = "baseline"
"""The pipeline every ratio is against; it always runs."""


@dataclass(frozen=True)
class Plan:
    """The target runs of a benchmark, the workloads of each, and every job in table order."""

    pipelines: list[str]
    runs: list[tuple[w.TargetRun, list[w.Workload]]]
    jobs: list[Job]
    im2col: str = "on-the-fly"

    def bench(self, results: Sequence[dict]) -> Bench:
        """The benchmark's tables' input from the results of :attr:`jobs`, in their order."""
        if len(results) != len(self.jobs):
            raise ValueError(f"{len(results)} results for {len(self.jobs)} jobs")
        records = iter(results)
        targets = []
        for run, loads in self.runs:
            rows = [Row(load, {p: next(records) for p in self.pipelines}) for load in loads]
            targets.append(TargetResults(run, rows))
        return Bench(self.pipelines, REFERENCE, targets, self.im2col)


def pipelines_of(names: Sequence[str] | None) -> list[str]:
    """The reference pipeline, then the others named (default: :data:`PIPELINE_ORDER`)."""
    from igoc.pipeline import PIPELINES

    valid = [name for name in PIPELINES if name != "none"]
    chosen = [REFERENCE]
    for name in names or PIPELINE_ORDER:
        if name not in valid:
            raise w.BenchUsageError(f"unknown pipeline '{name}'; pipelines: {', '.join(valid)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def plan(
    targets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    pipelines: Sequence[str] | None = None,
    settings: Sequence[w.Setting] = (),
    sweeps: Sequence[w.Sweep] = (),
    im2col: str = "on-the-fly",
    models_dir: pathlib.Path | None = None,
    quick: bool = False,
) -> Plan:
    """The plan of a benchmark, with ``igoc-bench``'s defaults for what is not given.

    ``settings`` replace target keys on every target (``[("psum_bytes", 4)]``);
    ``sweeps`` give keys several values (``[("dram_bandwidth_gb_per_s", [11.0,
    22.0])]``), one target run per combination. Raises
    :class:`~igoc.bench.workloads.BenchUsageError` for an unknown name,
    ``TargetError`` for a bad target, ``OSError`` for an unreadable model file.
    """
    if im2col not in IM2COL_MODES:
        raise w.BenchUsageError(f"unknown im2col mode '{im2col}'; modes: {', '.join(IM2COL_MODES)}")
    chosen = pipelines_of(pipelines)
    specs = targets or (w.QUICK_TARGETS if quick else w.DEFAULT_TARGETS)
    runs = w.target_runs(specs, settings, sweeps)
    choices = (
        [w.model_choice(name) for name in dict.fromkeys(models)]
        if models
        else w.default_models(quick)
    )
    folder = models_dir if models_dir is not None else w.samples_dir()
    planned = [(run, [w.workload(choice, run, folder) for choice in choices]) for run in runs]
    specs_of = {p: pass_pipeline_for(p, im2col) for p in chosen}
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
    return Plan(chosen, planned, jobs, im2col)
