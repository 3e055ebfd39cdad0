"""Passes, named pipelines and stages: what ``igoc`` and ``igoc-opt`` run.

The pass registry maps each command-line name to ``module:Class`` and imports
a pass only when a pipeline uses it (or ``--list-passes`` describes it), so
the tools start fast. A named pipeline is the pass-pipeline spec a user would
type (``--pass-pipeline``); each pass leaves the IR at a stage:

    grad ──conv-to-gemm──► gemm ──fuse-gradients──► fused ──tile──► tiled
         ──select-order──► ordered ──partition──► partitioned
         [──confirm-program──► partitioned] ──lower-to-npu──► npu

``grad`` is the verified input. A pass that changes the IR without moving it to
another stage (``cse``, say) has stage ``None``.

Passes read the target from the module attribute ``igoc.target``
(``igoc.dialects.npu.module_target``); the driver stamps it there. :func:`run`
runs passes with a ``Session`` (``igoc.cost.session``): the explicit state of one
compile that the decision passes share (the schedule search) and that carries
the lowering's plans to emission. A pass reports an error in the user's input by
raising ``igoc.frontend.error_at(op, message)``; an op a pass creates in place of
another takes over that op's ``location``, so such errors point at the user's line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from igoc.errors import IgocError
from igoc.frontend.registry import load_object

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.passes import ModulePass

    from igoc.cost.session import Session

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

PIPELINES: dict[str, str] = {
    "none": "",
    # The conventional schedule: dX then dW as separate GEMMs, each with its best loop
    # order and tiles, the batch (M) split across cores.
    "baseline": "conv-to-gemm,tile,select-order{policy=cost},partition{policy=m},lower-to-npu",
    # The paper's three cumulative steps: + interleaving, + rearranging, + partitioning.
    "igo-interleave": "conv-to-gemm,fuse-gradients,tile,select-order{policy=only-interleaving},"
    "partition{policy=m},lower-to-npu",
    "igo-rearrange": "conv-to-gemm,fuse-gradients,tile,select-order{policy=cost},"
    "partition{policy=m},confirm-program,lower-to-npu",
    "igo": "conv-to-gemm,fuse-gradients,tile,select-order{policy=cost},partition{policy=cost},"
    "confirm-program,lower-to-npu",
    # For studying the choices: the order by the paper's Algorithm 1 (with the batch
    # split), and every order and partition simulated (the oracle the cost model aims at).
    "igo-alg1": "conv-to-gemm,fuse-gradients,tile,select-order{policy=paper},"
    "partition{policy=m},lower-to-npu",
    "igo-exhaustive": "conv-to-gemm,fuse-gradients,tile,select-order{policy=exhaustive},"
    "partition{policy=exhaustive},confirm-program{limit=0},lower-to-npu",
}
"""Pipeline name -> its pass-pipeline spec (what ``--pass-pipeline`` takes)."""

PAPER_TILE = "tile{tiler=analytic reuse=window}"
"""The ``tile`` pass of the paper's footing: the analytic tile sizes of the paper's baseline
and reuse only within a half-SPM window (``igoc.schedule.layer_schedule``)."""


def paper_footing(spec: str, tile: str = PAPER_TILE) -> str:
    """A pipeline spec with its ``tile`` pass replaced (by default, by ``PAPER_TILE``)."""
    return ",".join(tile if name == "tile" else name for name in spec.split(","))


# Every pipeline on the paper's footing: ``baseline-paper`` is the paper's baseline, the
# others IGO's steps measured against it as the paper measures them.
PIPELINES.update(
    {f"{name}-paper": paper_footing(spec) for name, spec in list(PIPELINES.items()) if spec}
)
# Between the two footings (the gap decomposed, ``igoc-bench --decompose``): searched tiles
# with reuse still only within the half-SPM window.
PIPELINES.update(
    {
        f"{name}-window": paper_footing(PIPELINES[name], "tile{reuse=window}")
        for name in ("baseline", "igo")
    }
)
# An ablation of the paper's footing (``--decompose``): no input tile kept from one step to
# the next, as mNPUsim's request generator reads each tile anew (``layer_schedule``).
PIPELINES.update(
    {
        f"{name}-noreuse": paper_footing(PIPELINES[name], "tile{tiler=analytic reuse=none}")
        for name in ("baseline", "igo")
    }
)

DEFAULT_PIPELINE = "igo"

APART = frozenset(name for name, spec in PIPELINES.items() if spec and "fuse-gradients" not in spec)
"""The pipelines that keep a layer's dX and dW apart (the baselines)."""


def check_input(module: ModuleOp, steps: list[Step], name: str | None = None) -> None:
    """Refuse an input that ``steps`` (the pipeline ``name``, if named) cannot compile as
    they say: an NPU program already (the IR ``--emit npu`` prints; nothing is left to
    compile, and its text holds only a view of the program), or gradients fused already
    (``grad.interleaved``) given to a pipeline that keeps them apart, which would run an
    interleaved schedule under the baseline's name. Raises a ``DiagnosticError`` at the op."""
    from igoc.frontend.diagnostics import error_at

    if not steps:
        return
    for op in module.walk():
        if op.name == "npu.program":
            raise error_at(
                op,
                "the input is an NPU program already (the IR --emit npu prints), with "
                "nothing left to compile: compile the IR of an earlier stage",
            )
        if op.name == "grad.interleaved" and name in APART:
            raise error_at(
                op,
                f"the {name} pipeline keeps dX and dW apart, but this op fuses them "
                "(fuse-gradients ran already): give it the IR from before fuse-gradients",
            )


class PipelineError(IgocError):
    """A pipeline that cannot be built: an unknown name, a bad spec or option (bad usage)."""


class PassError(Exception):
    """A pass that failed or left IR that does not verify (a bug in igoc, not in the input)."""


DECIDING = ("tile", "select-order", "partition", "confirm-program")
"""The passes that set an op's schedule (``sched.schedule``), whatever it held."""


def decided_again(module: ModuleOp, steps: list[Step]) -> str | None:
    """The first of ``steps`` that decides schedules again when ``module``'s ops already
    carry some (an ``--emit`` output, perhaps edited by hand); None otherwise."""
    first = next((step.name for step in steps if step.name in DECIDING), None)
    if first is None:
        return None
    for op in module.walk():
        if "sched.schedule" in op.attributes:
            return first
    return None


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
    return PIPELINES[name] or "(no passes: the verified input)"


def pass_specs(spec: str) -> list[str]:
    """The specs of the passes of a pipeline spec, in order (``a,b{x=1,2},c`` -> 3 passes)."""
    out: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(spec):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            out.append(spec[start:i].strip())
            start = i + 1
    out.append(spec[start:].strip())
    return [part for part in out if part]


# ---- building pipelines -------------------------------------------------------------------------


def _available() -> dict[str, Callable[[], type[ModulePass]]]:
    return {name: (lambda name=name: load_pass(name)) for name in PASSES}


def _spec_error(text: str) -> str:
    """xDSL's error in a pass-pipeline spec (a heading, ``pass-pipeline:LINE:COL``, the spec,
    a caret, the reason) in one line: the reason and its column."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    place = re.search(r"pass-pipeline:\d+:(\d+)", text)
    if not lines or place is None:
        return " ".join(lines) or text
    reason = lines[-1]
    return f"{reason[:1].lower()}{reason[1:]} (at column {place.group(1)})"


def parse_spec(spec: str, stage: str | None = None) -> list[Step]:
    """The steps of a pass-pipeline spec (``cse,canonicalize``, ``tile{size=64}``).

    Each step's stage is ``stage`` if given, else the stage its pass produces.
    """
    from xdsl.passes import PassPipeline
    from xdsl.utils.exceptions import ArgSpecParseError

    try:
        pipeline = PassPipeline.parse_spec(_available(), spec)
    except ArgSpecParseError as err:  # a BaseException, not an Exception
        raise PipelineError(f"bad pass pipeline '{spec}': {_spec_error(str(err))}") from None
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
    return parse_spec(PIPELINES[name]) if PIPELINES[name] else []


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
    session: Session | None = None,
) -> Session:
    """Apply the steps in order, verifying the IR after each; return the session they ran in.

    ``before_step(index, step, module)`` is called before each step and
    ``after_step(index, step, module, seconds)`` after it verified. A
    ``DiagnosticError`` raised by a pass (an error in the input) propagates as
    is; any other failure becomes a :class:`PassError`. ``session``: the state to
    run in (a new one by default, which lets its search's estimates go at the
    lowering; pass one to share its search between runs on modules of one target,
    as ``igoc-bench`` does for the pipelines of one input).
    """
    from igoc.collector import fewer_collections
    from igoc.cost.session import Session
    from igoc.dialects.npu import module_target
    from igoc.frontend.registry import register_dialects
    from igoc.limits import check_work

    if steps:  # bounded work: no pass starts on an op beyond igoc's limits
        check_work(module, module_target(module))
    session = register_dialects(Session(single=True) if session is None else session)
    with fewer_collections():
        _run(module, steps, after_step, before_step, session)
    return session


def _run(
    module: ModuleOp,
    steps: list[Step],
    after_step: Callable[[int, Step, ModuleOp, float], None] | None,
    before_step: Callable[[int, Step, ModuleOp], None] | None,
    session: Session,
) -> None:
    from igoc.frontend.diagnostics import DiagnosticError
    from igoc.progress import report

    for index, step in enumerate(steps):
        if before_step is not None:
            before_step(index, step, module)
        report(session, step.spec)
        start = time.perf_counter()
        session.lowered = None  # only the last pass's lowering is the module's
        try:
            step.pass_.apply(session, module)
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
