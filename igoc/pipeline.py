"""Passes, named pipelines and stages: what ``igoc`` and ``igoc-opt`` run.

The pass registry maps each command-line name to ``module:Class`` and imports
a pass only when a pipeline uses it (or ``--list-passes`` describes it), so
the tools start fast. A named pipeline is data: a list of ``(pass spec, stage)``
pairs, where the stage names the IR a pass leaves behind:

    grad ──conv-to-gemm──► gemm ──fuse-gradients──► fused ──tile──► tiled
         ──select-order──► ordered ──partition──► partitioned
         [──confirm-program──► partitioned] ──lower-to-npu──► npu

``grad`` is the verified input. A pass that changes the IR without moving it to
another stage (``cse``, say) has stage ``None``.

Passes read the target from the module attribute ``igoc.target``
(:func:`module_target`); the driver stamps it there (:func:`stamp_target`).
A pass reports an error in the user's input by raising
``igoc.frontend.error_at(op, message)``; an op a pass creates in place of
another takes over that op's ``location``, so such errors point at the user's line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from igoc.frontend.registry import load_object

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.passes import ModulePass

    from igoc.target import Target

PASSES: dict[str, str] = {
    # xDSL's generic clean-ups.
    "canonicalize": "xdsl.transforms.canonicalize:CanonicalizePass",
    "cse": "xdsl.transforms.common_subexpression_elimination:CommonSubexpressionElimination",
    "dce": "xdsl.transforms.dead_code_elimination:DeadCodeElimination",
    # igoc's passes, in pipeline order.
    "conv-to-gemm": "igoc.passes.conv_to_gemm:ConvToGemmPass",
    "fuse-gradients": "igoc.passes.fuse_gradients:FuseGradientsPass",
    "tile": "igoc.passes.tile:TilePass",
    "select-order": "igoc.passes.select_order:SelectOrderPass",
    "partition": "igoc.passes.partition:PartitionPass",
    "confirm-program": "igoc.passes.confirm_program:ConfirmProgramPass",
    "lower-to-npu": "igoc.passes.lower_to_npu:LowerToNpuPass",
}
"""Pass name -> ``module:Class`` of its ``ModulePass``."""

SUMMARIES: dict[str, str] = {
    "cse": "Eliminates common subexpressions (xDSL).",
    "dce": "Removes operations whose results are unused and that have no side effects (xDSL).",
}
"""One-line summaries of passes whose class has no docstring."""

STAGES: tuple[str, ...] = ("grad", "gemm", "fused", "tiled", "ordered", "partitioned", "npu")
"""The stages of the IR, in pipeline order."""

STAGE_OF_PASS: dict[str, str] = {
    "conv-to-gemm": "gemm",
    "fuse-gradients": "fused",
    "tile": "tiled",
    "select-order": "ordered",
    "partition": "partitioned",
    "confirm-program": "partitioned",
    "lower-to-npu": "npu",
}
"""The stage each of igoc's passes produces (for ``--pass-pipeline``)."""

PIPELINES: dict[str, list[tuple[str, str | None]]] = {
    "none": [],
    # The conventional schedule: dX then dW as separate GEMMs, each with its best loop
    # order and tiles, the batch (M) split across cores.
    "baseline": [
        ("conv-to-gemm", "gemm"),
        ("tile", "tiled"),
        ("select-order{policy=cost}", "ordered"),
        ("partition{policy=m}", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
    # The paper's three cumulative steps: + interleaving, + rearranging, + partitioning.
    "igo-interleave": [
        ("conv-to-gemm", "gemm"),
        ("fuse-gradients", "fused"),
        ("tile", "tiled"),
        ("select-order{policy=only-interleaving}", "ordered"),
        ("partition{policy=m}", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
    "igo-rearrange": [
        ("conv-to-gemm", "gemm"),
        ("fuse-gradients", "fused"),
        ("tile", "tiled"),
        ("select-order{policy=cost}", "ordered"),
        ("partition{policy=m}", "partitioned"),
        ("confirm-program", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
    "igo": [
        ("conv-to-gemm", "gemm"),
        ("fuse-gradients", "fused"),
        ("tile", "tiled"),
        ("select-order{policy=cost}", "ordered"),
        ("partition{policy=cost}", "partitioned"),
        ("confirm-program", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
    # For studying the choices: the order by the paper's Algorithm 1 (with the batch
    # split), and every order and partition simulated (the oracle the cost model aims at).
    "igo-paper": [
        ("conv-to-gemm", "gemm"),
        ("fuse-gradients", "fused"),
        ("tile", "tiled"),
        ("select-order{policy=paper}", "ordered"),
        ("partition{policy=m}", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
    "igo-exhaustive": [
        ("conv-to-gemm", "gemm"),
        ("fuse-gradients", "fused"),
        ("tile", "tiled"),
        ("select-order{policy=exhaustive}", "ordered"),
        ("partition{policy=exhaustive}", "partitioned"),
        ("confirm-program{limit=0}", "partitioned"),
        ("lower-to-npu", "npu"),
    ],
}
"""Pipeline name -> ``(pass spec, stage it produces)`` for each pass, in order."""

DEFAULT_PIPELINE = "igo"
DEFAULT_TARGET = "server"
TARGET_ATTRIBUTE = "igoc.target"


class PipelineError(Exception):
    """A pipeline that cannot be built: an unknown name, a bad spec or option (bad usage)."""


class PassError(Exception):
    """A pass that failed or left IR that does not verify (a bug in igoc, not in the input)."""


@dataclass(frozen=True)
class Step:
    """One pass of a pipeline: its spec text, the stage it produces, the pass itself."""

    spec: str
    stage: str | None
    pass_: ModulePass

    @property
    def name(self) -> str:
        """The pass's command-line name."""
        return self.pass_.name


# ---- the registry -------------------------------------------------------------------------------


def load_pass(name: str) -> type[ModulePass]:
    """The class of a registered pass (imported now)."""
    if name not in PASSES:
        raise PipelineError(_unknown_pass(name))
    try:
        return load_object(PASSES[name])  # type: ignore[return-value]
    except (ImportError, AttributeError) as err:
        raise PipelineError(f"pass '{name}' is registered but cannot be loaded: {err}") from None


def _unknown_pass(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, PASSES, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown pass '{name}'; {hint}known passes: {', '.join(sorted(PASSES))}"


def pass_summary(name: str) -> str:
    """The first line of a pass's docstring (imports the pass)."""
    if name in SUMMARIES:
        return SUMMARIES[name]
    doc = (load_pass(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "(no description)"


def list_passes() -> str:
    """Every registered pass with its one-line summary, one per line."""
    names = sorted(PASSES)
    width = max(map(len, names))
    lines = [f"  {name.ljust(width)}  {pass_summary(name)}" for name in names]
    pipelines = [f"  {name.ljust(width)}  {describe_pipeline(name)}" for name in PIPELINES]
    return "\n".join(["passes:", *lines, "pipelines:", *pipelines]) + "\n"


def describe_pipeline(name: str) -> str:
    """The passes of a named pipeline, as one line."""
    steps = PIPELINES[name]
    if not steps:
        return "(no passes: the verified input)"
    return ",".join(spec for spec, _ in steps)


# ---- building pipelines -------------------------------------------------------------------------


def _available() -> dict[str, Callable[[], type[ModulePass]]]:
    return {name: (lambda name=name: load_pass(name)) for name in PASSES}


def parse_spec(spec: str, stage: str | None = None) -> list[Step]:
    """The steps of a pass-pipeline spec (``cse,canonicalize``, ``tile{size=64}``).

    Each step's stage is ``stage`` if given, else the stage its pass produces.
    """
    from xdsl.passes import PassPipeline
    from xdsl.utils.exceptions import ArgSpecParseError

    try:
        pipeline = PassPipeline.parse_spec(_available(), spec)
    except ArgSpecParseError as err:  # a BaseException, not an Exception
        raise PipelineError(f"bad pass pipeline '{spec}': {err}") from None
    except ValueError as err:
        message = str(err)
        if message.startswith("Unrecognized passes: "):
            names = message.removeprefix("Unrecognized passes: ").strip("[]").split(", ")
            message = _unknown_pass(names[0].strip("'\""))
        raise PipelineError(f"bad pass pipeline '{spec}': {message}") from None
    return [
        Step(str(p), stage if stage is not None else STAGE_OF_PASS.get(p.name), p)
        for p in pipeline.passes
    ]


def build_pipeline(name: str | None = None, spec: str | None = None) -> list[Step]:
    """The steps of a named pipeline, or of a spec (which replaces the named pipeline)."""
    if spec is not None:
        return parse_spec(spec) if spec.strip() else []
    name = DEFAULT_PIPELINE if name is None else name
    if name not in PIPELINES:
        raise PipelineError(
            f"unknown pipeline '{name}'; known pipelines: {', '.join(sorted(PIPELINES))}"
        )
    steps: list[Step] = []
    for pass_spec, stage in PIPELINES[name]:
        steps += parse_spec(pass_spec, stage)
    return steps


def stages_reached(steps: list[Step]) -> list[str]:
    """The stages a pipeline's IR goes through, starting with ``grad``."""
    reached = ["grad"]
    for step in steps:
        if step.stage is not None and step.stage not in reached:
            reached.append(step.stage)
    return reached


def steps_until(steps: list[Step], stage: str) -> list[Step]:
    """The steps up to and including the first that produces ``stage`` and those right after
    it that produce it again (``grad``: none)."""
    reached = stages_reached(steps)
    if stage not in reached:
        known = ", ".join(STAGES)
        if stage in STAGES:
            raise PipelineError(
                f"this pipeline never reaches stage '{stage}'; it reaches {', '.join(reached)}"
            )
        raise PipelineError(f"unknown stage '{stage}'; stages: {known}")
    if stage == "grad":
        return []
    end = next(i for i, step in enumerate(steps) if step.stage == stage)
    while end + 1 < len(steps) and steps[end + 1].stage == stage:
        end += 1  # a pass that refines the stage's IR (confirm-program after partition)
    return steps[: end + 1]


def final_stage(steps: list[Step]) -> str:
    """The stage of the IR after the last step."""
    return stages_reached(steps)[-1] if steps else "grad"


# ---- running ------------------------------------------------------------------------------------


def run(
    module: ModuleOp,
    steps: list[Step],
    after_step: Callable[[int, Step, ModuleOp, float], None] | None = None,
    before_step: Callable[[int, Step, ModuleOp], None] | None = None,
) -> None:
    """Apply the steps in order, verifying the IR after each.

    ``before_step(index, step, module)`` is called before each step and
    ``after_step(index, step, module, seconds)`` after it verified. A
    ``DiagnosticError`` raised by a pass (an error in the input) propagates as
    is; any other failure becomes a :class:`PassError`.
    """
    from igoc.collector import fewer_collections
    from igoc.limits import check_work

    if steps:  # bounded work: no pass starts on an op beyond igoc's limits
        check_work(module, module_target(module))
    with fewer_collections():
        _run(module, steps, after_step, before_step)


def _run(
    module: ModuleOp,
    steps: list[Step],
    after_step: Callable[[int, Step, ModuleOp, float], None] | None,
    before_step: Callable[[int, Step, ModuleOp], None] | None,
) -> None:
    from igoc.frontend.diagnostics import DiagnosticError
    from igoc.frontend.registry import make_context

    ctx = make_context()
    for index, step in enumerate(steps):
        if before_step is not None:
            before_step(index, step, module)
        start = time.perf_counter()
        try:
            step.pass_.apply(ctx, module)
        except DiagnosticError:
            raise
        except Exception as err:  # noqa: BLE001 - reported as a failed pass, never raised
            raise PassError(f"pass '{step.spec}' failed: {_one_line(err)}") from err
        seconds = time.perf_counter() - start
        try:
            module.verify()
        except Exception as err:  # noqa: BLE001
            raise PassError(
                f"the IR after pass '{step.spec}' does not verify: {_one_line(err)}"
            ) from err
        if after_step is not None:
            after_step(index, step, module, seconds)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# ---- the target ---------------------------------------------------------------------------------


def stamp_target(module: ModuleOp, target: Target) -> None:
    """Record ``target`` in the module attribute ``igoc.target``."""
    from xdsl.dialects.builtin import (
        BoolAttr,
        DictionaryAttr,
        FloatAttr,
        IntegerAttr,
        IntegerType,
        StringAttr,
        f64,
        i64,
    )
    from xdsl.ir import Attribute

    entries: dict[str, Attribute] = {}
    for key, value in target.as_dict().items():
        if isinstance(value, bool):
            entries[key] = BoolAttr(value, IntegerType(1))
        elif isinstance(value, int):
            entries[key] = IntegerAttr(value, i64)
        elif isinstance(value, float):
            entries[key] = FloatAttr(value, f64)
        else:
            entries[key] = StringAttr(str(value))
    module.attributes[TARGET_ATTRIBUTE] = DictionaryAttr(entries)


def module_target(module: ModuleOp) -> Target:
    """The target recorded in the module (``igoc.target``), or the default preset.

    Raises ``DiagnosticError`` if the recorded target is not a valid one.
    """
    from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, StringAttr

    from igoc.frontend.diagnostics import DiagnosticError, location_of
    from igoc.target import TargetError, load_target, target_from_dict

    attr = module.attributes.get(TARGET_ATTRIBUTE)
    if attr is None:
        return load_target(DEFAULT_TARGET)
    if not isinstance(attr, DictionaryAttr):
        raise DiagnosticError(f"{TARGET_ATTRIBUTE} must be a dictionary", location_of(module))
    values: dict[str, object] = {}
    for key, value in attr.data.items():
        if isinstance(value, IntegerAttr):
            width = getattr(value.type, "width", None)
            is_bool = width is not None and width.data == 1
            values[key] = bool(value.value.data) if is_bool else value.value.data
        elif isinstance(value, FloatAttr):
            values[key] = value.value.data
        elif isinstance(value, StringAttr):
            values[key] = value.data
        else:
            values[key] = value
    try:
        return target_from_dict(values, TARGET_ATTRIBUTE)
    except TargetError as err:
        raise DiagnosticError(str(err), location_of(module)) from None
