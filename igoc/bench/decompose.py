"""``igoc-bench --decompose``: the gap between the paper's regime and igoc's, one switch at a time.

The paper reports IGO's gain against *its* baseline on *its* machine model;
igoc's default regime has a stronger baseline and another array timing. The
decomposition starts in the paper's regime and switches one mechanism per step
toward igoc's, and gives after each switch igo's average reduction of
execution time (forward + backward, the mean of the per-model ratios, as the
main tables take it) against *that step's own* baseline, per target. A reader
sees which assumption the paper's figure rests on.

The ladder is data (:data:`LADDER`): each step names its reference pipeline,
its pipeline and the target settings it adds (``KEY=VALUE``, as ``--set``
takes them). A step whose key this igoc's targets do not have cannot run: its
row says so, naming the key, and the others run. The steps' jobs are one run
(:func:`igoc.bench.plan.jobs_of`), so equal jobs run once and the cache keeps
each: a rerun is instant.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from igoc.bench import workloads as w
from igoc.bench.plan import Plan, plan
from igoc.bench.tables import AVERAGE_NOTE, METRICS, Bench, averages, failures, grid, ratio


@dataclass(frozen=True)
class Step:
    """One configuration of the ladder: igo's pipeline against its reference, with settings."""

    label: str  # what this step switches (or, for the first, where the ladder starts)
    reference: str
    pipeline: str
    settings: tuple[str, ...] = ()  # target settings, KEY=VALUE as --set takes them
    ablation: bool = False  # beside the ladder, not a step of it


LADDER: tuple[Step, ...] = (
    Step("paper regime", "baseline-paper", "igo-paper"),
    Step("tiler -> searched tiles", "baseline-window", "igo-window"),
    Step("half-SPM window -> whole-step Belady planning (strong regime)", "baseline", "igo"),
    Step(
        "pipelined -> SCALE-Sim fold timing",
        "baseline",
        "igo",
        ("array_timing=scalesim",),
    ),
    Step(
        "paper regime, double-buffered -> serial tiles",
        "baseline-paper",
        "igo-paper",
        ("overlap=serial",),
        ablation=True,
    ),
    Step(
        "paper regime, half-SPM window -> no tile kept across steps (mNPUsim)",
        "baseline-noreuse",
        "igo-noreuse",
        ablation=True,
    ),
)
"""The steps, from the paper's regime toward the strong one; then the ablations."""


@dataclass(frozen=True)
class StepPlan:
    """A step and its plan, or why it cannot run."""

    step: Step
    plan: Plan | None
    error: str | None = None


@dataclass(frozen=True)
class StepResult:
    """A step's benchmark (None when it could not run), per target column."""

    step: Step
    bench: Bench | None
    error: str | None = None
    columns: list[str] = field(default_factory=list)


def plan_ladder(
    ladder: Sequence[Step] = LADDER,
    targets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    settings: Sequence[w.Setting] = (),
    im2col: str = "on-the-fly",
    models_dir: pathlib.Path | None = None,
    quick: bool = False,
) -> tuple[list[str], list[StepPlan]]:
    """The target columns and a plan per step.

    ``settings`` (the user's ``--set``) apply to every step, the step's own after
    them. Errors of the user's own choices (a bad name, target or setting) raise
    as from :func:`~igoc.bench.plan.plan`; a step whose own settings this igoc
    cannot apply (an unknown key, a value out of range) gets an error instead.
    """
    from igoc.target import SettingError, TargetError, parse_setting
    from igoc.target.spec import KEY_TYPES

    common = dict(targets=targets, models=models, im2col=im2col, models_dir=models_dir, quick=quick)
    base = plan(settings=settings, **common)  # the user's choices, checked once
    columns = [run.name for run, _ in base.runs]
    steps = []
    for number, step in enumerate(ladder, 1):
        missing = [key for key in _keys(step) if key not in KEY_TYPES]
        if missing:
            reason = f"this igoc's targets have no key '{missing[0]}'"
            steps.append(StepPlan(step, None, _unavailable(number, step, reason)))
            continue
        try:
            own = [parse_setting(text) for text in step.settings]
        except SettingError as err:
            steps.append(StepPlan(step, None, _unavailable(number, step, str(err))))
            continue
        for key, value in own:  # the step must switch something, as its label says
            for run, _ in base.runs:
                if run.target.as_dict().get(key) == value:
                    raise w.BenchUsageError(
                        f"target '{run.name}' has {key} = {value!r}, which step "
                        f"{_name(number, step)} ('{step.label}') switches to, so that step "
                        f"would switch nothing; --decompose needs targets with {key} as "
                        "the presets set it"
                    )
        try:
            planned = plan(
                pipelines=[step.pipeline],
                reference=step.reference,
                settings=[*settings, *own],
                **common,
            )
        except (TargetError, w.BenchUsageError) as err:
            if not own:
                raise
            steps.append(StepPlan(step, None, _unavailable(number, step, str(err))))
            continue
        steps.append(StepPlan(step, planned))
    return columns, steps


def _keys(step: Step) -> list[str]:
    return [text.partition("=")[0].strip() for text in step.settings]


def _unavailable(number: int, step: Step, reason: str) -> str:
    name = _name(number, step)
    what = "the ablation" if step.ablation else f"step {name}"
    return f"{what} (--set {' '.join(step.settings)}) cannot run: {reason}"


def _name(number: int, step: Step) -> str:
    return "ablation" if step.ablation else str(number)


def results_of(
    columns: list[str], planned: Sequence[StepPlan], results: Sequence[Sequence[dict]]
) -> list[StepResult]:
    """Each step's benchmark from its plan's results (``results``: one list per runnable step)."""
    records = iter(results)
    out = []
    for item in planned:
        if item.plan is None:
            out.append(StepResult(item.step, None, item.error, columns))
        else:
            out.append(StepResult(item.step, item.plan.bench(next(records)), None, columns))
    return out


def reductions(result: StepResult) -> list[tuple[float | None, int, int]]:
    """Per target column: igo's average reduction against the step's reference (None if none),
    the models averaged, and the models run."""
    if result.bench is None:
        return [(None, 0, 0) for _ in result.columns]
    bench = result.bench
    out = []
    for target in bench.targets:
        means, count = averages(target, METRICS[0], bench.pipelines, bench.reference)
        mean = means[result.step.pipeline]
        out.append((None if mean is None else 1 - mean, count, len(target.rows)))
    return out


def render(steps: Sequence[StepResult]) -> str:
    """The decomposition as text: a row per step, a column per target, then what each step ran."""
    columns = steps[0].columns if steps else []
    rows = [["step", "switch", *columns]]
    partial = False
    totals: set[int] = set()  # models per target column run by a step
    for number, result in enumerate(steps, 1):
        cells = [_name(number, result.step), result.step.label]
        for value, count, total in reductions(result):
            if result.bench is not None:
                totals.add(total)
            if result.bench is None:
                cells.append("n/a")
            elif value is None:
                cells.append("failed")
            else:
                partial = partial or count < total
                cells.append(
                    f"{value * 100:.1f}%" + ("" if count == total else f" ({count}/{total})")
                )
        rows.append(cells)
    lines = [
        "The gap decomposed: igo's average reduction of execution time (forward + backward)",
        "against each step's own baseline; each step switches one mechanism from the paper's",
        "regime toward the strong one",
        *grid(rows, range(2, len(rows[0]))),
        f"  average: {AVERAGE_NOTE}{_over(totals)}; reduction: 1 - average",
    ]
    if partial:
        lines.append("  (n/m): averaged over the n of m models on which both pipelines ran")
    lines.append("")
    for number, result in enumerate(steps, 1):
        step = result.step
        settings = f", --set {' '.join(step.settings)}" if step.settings else ""
        lines.append(f"  {_name(number, step)}: {step.reference} vs {step.pipeline}{settings}")
    problems = [result.error for result in steps if result.error]
    problems += _failures(steps)
    if problems:
        lines += ["", *problems]
    return "\n".join(lines) + "\n"


def _over(totals: set[int]) -> str:
    """How many models each average is over, when every cell has the same number."""
    if len(totals) != 1:
        return ""
    (total,) = totals
    return f" over the {total} model{'' if total == 1 else 's'} of each target"


def _failures(steps: Sequence[StepResult]) -> list[str]:
    lines = []
    for number, result in enumerate(steps, 1):
        if result.bench is not None:
            for line in failures(result.bench):
                name = _name(number, result.step)
                if result.step.ablation:  # the ablations share a name: their labels differ
                    name = f"{name} ({result.step.label})"
                lines.append(f"step {name}: {line}")
    return lines


def document(steps: Sequence[StepResult], compiler: str) -> dict:
    """The decomposition as one JSON-ready object (``igoc.schemas``: ``bench-decompose``)."""
    columns = steps[0].columns if steps else []
    records = []
    for number, result in enumerate(steps, 1):
        step = result.step
        values = reductions(result)
        ratios: dict[str, dict[str, float | None]] = {}
        if result.bench is not None:
            for column, target in zip(columns, result.bench.targets, strict=True):
                ratios[column] = {
                    row.workload.row: ratio(row, METRICS[0], step.pipeline, step.reference)
                    for row in target.rows
                }
        records.append(
            {
                "step": _name(number, step),
                "label": step.label,
                "ablation": step.ablation,
                "reference_pipeline": step.reference,
                "pipeline": step.pipeline,
                "settings": list(step.settings),
                "status": "unavailable"
                if result.bench is None
                else ("ok" if not _failures([result]) else "failed"),
                "error": result.error,
                "target_runs": {
                    column: None if result.bench is None else result.bench.targets[i].run.name
                    for i, column in enumerate(columns)
                },
                "reduction": {c: v for c, (v, _, _) in zip(columns, values, strict=True)},
                "models_averaged": {c: n for c, (_, n, _) in zip(columns, values, strict=True)},
                "time_ratio": ratios,
            }
        )
    return {
        "schema_version": 1,
        "tool": "igoc-bench",
        "kind": "decomposition",
        "compiler": compiler,
        "average": AVERAGE_NOTE,
        "metric": METRICS[0].title,
        "columns": columns,
        "steps": records,
    }
