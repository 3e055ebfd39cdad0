"""confirm-program: simulate the whole program as scheduled, unsplit and as the baseline's; keep
the fastest.

Expects: layer ops with their schedule (after ``partition``).
Guarantees: the ops end with one of three sets of schedules, whichever whole
program the simulator finds fastest (a tie keeps the earlier in this list):

- ``schedules``: each op's schedule as it came;
- ``unsplit``: each op's order at the conventional partition
  (``decide.unsplit_schedule``: nothing split on one core, the batch across
  several), undoing the ``partition`` pass's splits; weighed only when some op
  has another partition;
- ``baseline``: each op's baseline schedule (``decide.baseline_schedule``: its
  GEMMs one after another, each at its best, the batch split across the cores).

The module attribute ``sched.program`` says what was weighed and kept:
``{kept, cycles, unsplit_cycles, baseline_cycles}``, or ``{kept = "schedules",
skipped = ...}`` when the ops' schedules walk more than ``limit`` tile steps, all
cores together (option; 0: no limit), and nothing is simulated.

Why: ``select-order`` and ``partition`` weigh each op alone or after the op
before it, but the planner plans a core's whole walk at once, and neighbours
overlap (one layer's last stores with the next one's first loads). Choices each
faster where they were weighed can add up to a slower program: on DLRM (small
layers of a few thousand cycles each) the program was slower than the
baseline's, and on ResNet-50 on ``server`` three split layers made it slower
than the same orders unsplit. Each program weighed costs a lowering and a
simulation, so this is done for programs up to ``limit`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import baseline_schedule, unsplit_schedule
from igoc.frontend import error_at
from igoc.irutil import op_schedule, ops_in_training_order, sched_set
from igoc.passes.tile import record_schedule
from igoc.pipeline import module_target

LIMIT = 16384
"""Programs of more tile steps are not simulated here. A step is three to four
instructions; ResNet-50 at batch 4 on ``edge`` walks 9,000 steps (34,000 instructions),
and one of its programs lowers and simulates in about a second."""


def program_steps(descs: list, schedules: list, cores: int) -> int:
    """The tile steps of every core's walk, each layer op (``descs``, in training order)
    under its schedule, without planning them."""
    from igoc.schedule.compile import core_step_count

    return sum(
        core_step_count(desc.layers(), schedule, core)
        for desc, schedule in zip(descs, schedules, strict=True)
        for core in range(cores)
    )


def program_cycles(module: ModuleOp, schedules: list) -> int:
    """Simulated cycles of the program ``module`` gives with ``schedules`` (one per layer op,
    in training order); the module itself is left as it is."""
    from igoc.passes.lower_to_npu import LowerToNpuPass, program_from_module
    from igoc.sim import simulate

    copy = module.clone()
    order, _ = ops_in_training_order(copy)
    for (_, layer), schedule in zip(order, schedules, strict=True):
        record_schedule(layer, schedule)
    LowerToNpuPass().apply(Context(), copy)
    return int(simulate(program_from_module(copy)).report["cycles"])


@dataclass(frozen=True)
class ConfirmProgramPass(ModulePass):
    """Simulates the program as scheduled, unsplit and as the baseline's; keeps the fastest."""

    name = "confirm-program"

    limit: int = LIMIT
    """Simulate only programs of at most this many tile steps, all cores together (0: any)."""

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"confirm-program: limit must be 0 or more, got {self.limit}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        order, descs = ops_in_training_order(op)
        current = [op_schedule(layer, descs[i]) for i, (_, layer) in enumerate(order)]
        for schedule, (_, layer) in zip(current, order, strict=True):
            if schedule is None:
                raise error_at(
                    layer, "confirm-program needs sched.order and sched.tile: run tile first"
                )
        baseline = [baseline_schedule(desc, target) for desc in descs]
        if current == baseline:
            sched_set(op, "program", {"kept": "schedules", "same_as_baseline": True})
            return
        steps = program_steps(descs, current, target.cores)
        if self.limit and steps > self.limit:
            skipped = f"{steps} steps > limit {self.limit}"
            sched_set(op, "program", {"kept": "schedules", "skipped": skipped})
            return
        unsplit = [unsplit_schedule(d, s, target) for d, s in zip(descs, current, strict=True)]
        weighed = {"schedules": current}
        if unsplit not in (current, baseline):
            weighed["unsplit"] = unsplit
        weighed["baseline"] = baseline
        cycles = {name: program_cycles(op, schedules) for name, schedules in weighed.items()}
        kept = min(cycles, key=lambda name: cycles[name])  # the first of equals
        for (_, layer), schedule in zip(order, weighed[kept], strict=True):
            record_schedule(layer, schedule)
        found: dict[str, object] = {"kept": kept}
        found.update(
            {("cycles" if n == "schedules" else f"{n}_cycles"): c for n, c in cycles.items()}
        )
        sched_set(op, "program", found)
