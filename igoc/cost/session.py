"""The state of one compile, handed to the passes: the schedule search and the lowering's plans.

igoc's driver runs passes with a :class:`Session`, xDSL's ``Context`` with three
more fields: ``search`` (a ``cost.search.Search`` for the module's target, whose
memory of estimates and decisions every decision pass shares), ``planned`` (the
program ``confirm-program`` planned and kept, which ``lower-to-npu`` takes instead
of planning the same program again) and ``lowered`` (what ``lower-to-npu`` planned,
so that the driver emits the very plans the lowering made and measured); ``progress``,
the status line the passes report on (``igoc.progress``; the ``igoc`` command's, on a
terminal); ``jobs``, the worker processes the decision passes may use
(``igoc.cost.parallel``; the ``igoc`` command's ``--jobs``). Passes run by
another driver (``xdsl-opt``) get a plain ``Context``; they then search afresh
(:func:`search_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.ir import Operation

from igoc.cost.search import Search
from igoc.progress import StatusLine
from igoc.schedule.program import Item, Lowered, TensorSpec
from igoc.target import Target


@dataclass
class Session(Context):
    """An xDSL context carrying one compile's explicit state."""

    search: Search | None = None
    lowered: tuple[Operation, Lowered] | None = None  # the npu.program op, its plans
    planned: list[Lowered] = field(default_factory=list)  # programs planned before lowering
    single: bool = False  # one compile's own session (``pipeline.run`` made it): not shared
    progress: StatusLine | None = None  # where the passes say what they do (``igoc.progress``)
    jobs: int = 1  # processes that may decide ops side by side (``igoc.cost.parallel``)


def search_for(ctx: Context, target: Target) -> Search:
    """The search a pass uses: the session's for ``target`` (made on first use), or a fresh
    one outside a session."""
    if not isinstance(ctx, Session):
        return Search(target)
    if ctx.search is None or ctx.search.target != target:
        ctx.search = Search(target)
    return ctx.search


def record_lowered(ctx: Context, program: Operation, lowered: Lowered) -> None:
    """Hand the plans the lowering made for ``program`` (an ``npu.program`` op) to the driver
    (outside a session, nobody emits them)."""
    if isinstance(ctx, Session):
        ctx.lowered = (program, lowered)


def release_lowered(ctx: Context | None) -> None:
    """Let the lowering's plans go (``lowered_plans`` then finds none)."""
    if isinstance(ctx, Session):
        ctx.lowered = None


def lowered_plans(ctx: Context | None, program: Operation) -> Lowered | None:
    """The lowering's plans for ``program``, if it is the op the lowering made and nothing
    ran after it; else None (the program is then planned from its IR)."""
    if isinstance(ctx, Session) and ctx.lowered is not None and ctx.lowered[0] is program:
        return ctx.lowered[1]
    return None


def record_planned(ctx: Context, planned: list[Lowered]) -> None:
    """Keep programs a pass planned as the lowering plans them (``model.plan_program``), for
    the lowering to take if it is to plan one of them (outside a session, nothing is kept)."""
    if isinstance(ctx, Session):
        ctx.planned = list(planned)


def take_planned(
    ctx: Context, target: Target, tensors: list[TensorSpec], cores: list[list[Item]]
) -> Lowered | None:
    """The program kept by ``record_planned`` that has these tensors and items (planning is
    deterministic: its plans are the plans planning them again would make), or None. What
    was kept is let go either way."""
    if not isinstance(ctx, Session):
        return None
    planned, ctx.planned = ctx.planned, []
    for lowered in planned:
        if lowered.target == target and lowered.tensors == tensors and lowered.cores == cores:
            return lowered
    return None


def release_estimates(ctx: Context) -> None:
    """In one compile's own session (``Session.single``), let the search's remembered estimates
    go: called by confirm-program once it has the schedules it weighs, and by the lowering,
    after which that compile decides nothing, so that plans (the largest memory of a
    compile) take their place. A session shared between compiles
    (``igoc-bench``'s, one per input) keeps them for the next compile."""
    if isinstance(ctx, Session) and ctx.single and ctx.search is not None:
        ctx.search.forget_estimates()
