"""confirm-program: simulate the whole program as scheduled, unsplit, all interleaved and as the
baseline's; keep the fastest.

Expects: layer ops with their schedule (after ``partition``).
Guarantees: the ops end with one of four sets of schedules, whichever whole
program the simulator finds fastest (a tie keeps the earlier in this list):

- ``schedules``: each op's schedule as it came;
- ``unsplit``: the schedules ``select-order`` gave, at the conventional
  partition (nothing split on one core, the batch across several), before the
  ``partition`` pass split or replaced any (found again by the policy each op
  records in ``sched.policy``, as that pass decided them: the program
  ``igo-rearrange`` weighs as scheduled, so that ``igo`` is never slower than it
  where it is weighed); for ops without that record, each op's order retiled at
  the conventional partition (``decide.unsplit_schedule``); weighed only when it
  differs from the schedules as they came;
- ``interleaved``: each op's ``only-interleaving`` order at the conventional
  partition, decided as the ``igo-interleave`` pipeline decides it (in training
  order, each fused op after the one before it as that pipeline schedules it), so
  that the program kept is never slower than interleaving alone where it is
  weighed; weighed only when it differs from the programs above and from the
  baseline's (also when the schedules came as the baseline's: ``select-order``
  weighs each op alone or after the one before it, and on NCF in the paper's
  regime it kept every op's ``sequential`` order where interleaving them all is
  24% faster);
- ``baseline``: each op's baseline schedule (``decide.baseline_schedule``: its
  GEMMs one after another, each at its best, the batch split across the cores).

How it weighs them depends on their size: programs of up to ``limit`` tile
steps, all cores together (option; 0: any size), are simulated
(``cost.oracle.program_cycles``: the program the lowering would make, emitted
and run on the instruction simulator); longer ones are planned as the lowering
plans them and weighed by the cost model's step-level timing
(``cost.oracle.program_estimate``), which costs about half as much; its error
is largely shared by the programs it compares (they differ in a few ops), though
not always: on the networks' long programs a pick by it simulated up to a few
tenths of a percent slower than the simulator's, and on a short one weighed so
by force (NCF on ``edge``, ``limit=1``) 2.3% slower.
With several jobs (``igoc -j``), the programs are weighed side by side: the program
as scheduled in this process, the others in forked workers that hand back their
cycles, and in this process once it is done (``igoc.cost.parallel.side_by_side``:
each process takes the next program when it is free); the same program is kept
either way.
The module attribute ``sched.program`` says what was weighed, how, and what was
kept: ``{kept, kept_cycles, weighed_by, cycles, unsplit_cycles, interleaved_cycles,
baseline_cycles, same}``: ``cycles`` are those of the schedules as they came,
``weighed_by`` is ``"simulator"`` or ``"cost model"`` (whose cycles are estimates),
and ``same`` names each program not weighed because it is one weighed under another
name (``{"unsplit": "schedules"}``); a program that could not be made (an op with
no only-interleaving schedule that fits) has no entry. An op whose schedule the kept
program changed gets ``sched.replaced`` (its other records are of the schedule it
came with).

Why: ``select-order`` and ``partition`` weigh each op alone or after the op
before it, but the planner plans a core's whole walk at once, and neighbours
overlap (one layer's last stores with the next one's first loads). Choices each
faster where they were weighed can add up to a slower program: on DLRM (small
layers of a few thousand cycles each) the program was slower than the
baseline's, and on ResNet-50 on ``server`` three split layers made it slower
than the same orders unsplit; on BERT-tiny on ``edge`` the orders the cost model
picked one op at a time made a program slower than interleaving every op. Each
program weighed costs a planning, an emission and a simulation, so the simulator
weighs programs up to ``limit`` steps and the cost model the longer ones, rather
than leaving those unchecked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import (
    ORDER_POLICIES,
    baseline_schedule,
    fused_context,
    select_order,
    unsplit_schedule,
)
from igoc.cost.oracle import program_cycles, program_estimate
from igoc.cost.parallel import prefetch_ops, side_by_side
from igoc.cost.search import desc_key
from igoc.cost.session import record_planned, release_estimates, search_for
from igoc.dialects.npu import module_target
from igoc.dialects.sched import from_attr, set_record, set_schedule
from igoc.dialects.views import TrainingLayers, declared_tensors
from igoc.frontend import error_at
from igoc.schedule.layer_schedule import core_step_count
from igoc.schedule.planner import PlanError
from igoc.schedule.program import LayerWalks, Lowered

LIMIT = 16384
"""Programs of more tile steps are weighed by the cost model instead of the simulator. A
step is three to four instructions; ResNet-50 at batch 4 on ``edge`` walks 9,000 steps
(34,000 instructions), and one of its programs lowers and simulates in about a second."""


def program_steps(descs: list, schedules: list, cores: int) -> int:
    """The tile steps of every core's walk, each layer op (``descs``, in training order)
    under its schedule, without planning them."""
    return sum(
        core_step_count(desc.layers(), schedule, core)
        for desc, schedule in zip(descs, schedules, strict=True)
        for core in range(cores)
    )


def decided_schedules(
    searches: list, descs: list, capacity_bytes: int, policies: list[str]
) -> list | None:
    """Each op's schedule as ``select-order`` decides it under ``policies[i]`` at the
    conventional partition (in training order, each fused op after the one before it as
    decided here; ``searches``: each op's search under its discipline), or None if some
    op has no such schedule that fits."""
    out: list = []
    for index, desc in enumerate(descs):
        context = fused_context(descs, index, capacity_bytes, out.__getitem__)
        try:
            schedule, _ = select_order(searches[index], desc, policies[index], context=context)
        except (ValueError, PlanError):
            return None
        out.append(schedule)
    return out


def _select_order_policy(layer) -> object:
    """The policy ``select-order`` recorded on a layer op (``sched.policy``), or None."""
    attr = layer.attributes.get("sched.policy")
    return None if attr is None else from_attr(attr)


@dataclass(frozen=True)
class ConfirmProgramPass(ModulePass):
    """Weighs four whole programs (scheduled, unsplit, interleaved, baseline); keeps the fastest.

    Simulated, or by the cost model over ``limit`` steps (see the module's docstring)."""

    name = "confirm-program"

    limit: int = LIMIT
    """Simulate programs of at most this many tile steps, all cores together (0: any size);
    weigh longer ones by the cost model."""

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"confirm-program: limit must be 0 or more, got {self.limit}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        search = search_for(ctx, target)
        layers = TrainingLayers.of(op, target)
        descs = layers.descs
        current = [layers.schedule(index) for index in range(len(descs))]
        for layer, schedule in zip(layers.ops, current, strict=True):
            if schedule is None:
                raise error_at(layer, "confirm-program needs sched.schedule: run tile first")
        # Each op's baseline and unsplit schedules under its own discipline (tiler, reuse).
        searches = [search.under(*s.discipline()) for s in current]  # type: ignore[union-attr]
        baseline = [baseline_schedule(s, d) for s, d in zip(searches, descs, strict=True)]
        capacity = target.spm_bytes

        def request(index: int, desc):
            discipline = current[index].discipline()  # type: ignore[union-attr]
            args = (desc, "only-interleaving")
            return (desc.signature(), discipline), (select_order, discipline, args)

        prefetch_ops(ctx, search, layers, "confirm-program", request)  # the ops weighed alone
        interleaved = decided_schedules(
            searches, descs, capacity, ["only-interleaving"] * len(descs)
        )
        if current == baseline and interleaved in (None, baseline):
            set_record(op, "program", {"kept": "schedules", "same_as_baseline": True})
            return
        steps = program_steps(descs, current, target.cores)
        simulated = not self.limit or steps <= self.limit
        weigh = program_cycles if simulated else program_estimate
        policies = [_select_order_policy(layer) for layer in layers.ops]
        unsplit = None
        if all(policy in ORDER_POLICIES for policy in policies):
            # ``select-order``'s decisions, found again in the search's memory of them.
            unsplit = decided_schedules(searches, descs, capacity, policies)
        if unsplit is None:
            unsplit = [
                unsplit_schedule(se, d, s)
                for se, d, s in zip(searches, descs, current, strict=True)
            ]
        weighed = {"schedules": current}
        same: dict[str, str] = {}  # a program not weighed again -> the name it was weighed as
        for name, schedules in (
            ("unsplit", unsplit),
            ("interleaved", interleaved),
            ("baseline", baseline),
        ):
            if schedules is None:
                continue
            # Each program once, under its first name (the baseline's under its own).
            earlier = next((n for n, s in weighed.items() if s == schedules), None)
            if earlier is None and (name == "baseline" or schedules != baseline):
                weighed[name] = schedules
            else:
                same[name] = earlier or "baseline"
        # Nothing is estimated from here on in this compile (the lowering takes what is
        # kept): in a compile's own session the search's estimates make room for the plans
        # of the programs weighed, two of which are held at a time.
        release_estimates(ctx)
        declared = declared_tensors(op)
        walks: LayerWalks = {}  # the programs weighed walk most layers alike

        def cycles_of(name: str, planned: list[Lowered] | None) -> int:
            layer_schedules = list(zip(descs, weighed[name], strict=True))
            return round(weigh(target, declared, layer_schedules, planned, walks))

        # A program weighed before in this search (another pipeline of the same input, as
        # igoc-bench compiles them) is not weighed again: its cycles are a pure function
        # of its ops, their schedules, its tensors, the target and how it is weighed.
        keys = [desc_key(desc) for desc in descs]
        memo_key = {
            name: (simulated, tuple(declared), tuple(zip(keys, schedules, strict=True)))
            for name, schedules in weighed.items()
        }
        cycles = {n: search.programs[k] for n, k in memo_key.items() if k in search.programs}
        todo = [name for name in weighed if name not in cycles]
        held: dict[str, Lowered] = {}  # plans made here, of the fastest program at most
        jobs = getattr(ctx, "jobs", 1)
        try:
            if jobs > 1 and len(todo) > 1:
                # Side by side: the first program weighed here, its plans kept; the others in
                # worker processes, which hand back their cycles only (the lowering plans
                # one of those again if it is kept).
                plans: list[Lowered] = []
                tasks = [functools.partial(cycles_of, todo[0], plans)]
                tasks += [functools.partial(cycles_of, name, None) for name in todo[1:]]
                cycles.update(zip(todo, side_by_side(tasks, jobs), strict=True))
                held[todo[0]] = plans[0]
            else:
                for name in todo:  # only the fastest so far's plans are held
                    planned: list[Lowered] = []
                    cycles[name] = cycles_of(name, planned)
                    weighed_so_far = [n for n in weighed if n in cycles]
                    if min(weighed_so_far, key=cycles.__getitem__) == name:
                        held = {name: planned[0]}
        except PlanError as err:
            raise error_at(layers.ops[0], str(err)) from None
        for name in todo:
            search.programs[memo_key[name]] = cycles[name]
        kept = min(weighed, key=cycles.__getitem__)  # the fastest; the first of equals
        # The lowering plans the kept program again unless it takes these plans (a long
        # program's plans take hundreds of megabytes).
        record_planned(ctx, [held[kept]] if kept in held else [])
        for layer, before, schedule in zip(layers.ops, current, weighed[kept], strict=True):
            set_schedule(layer, schedule)
            if schedule != before:  # the op's records are of the schedule it came with
                set_record(layer, "replaced", f"by confirm-program: the {kept} program's")
        found: dict[str, object] = {"kept": kept, "kept_cycles": cycles[kept]}
        found["weighed_by"] = "simulator" if simulated else "cost model"
        found.update(
            {("cycles" if n == "schedules" else f"{n}_cycles"): cycles[n] for n in weighed}
        )
        if "baseline" not in weighed:  # the schedules as they came are the baseline's
            found["baseline_cycles"] = cycles["schedules"]
        if same:
            found["same"] = same
        set_record(op, "program", found)
