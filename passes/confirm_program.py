"""confirm-program: simulate the whole program against the baseline's schedules; keep the faster.

Expects: layer ops with their schedule (after ``partition``).
Guarantees: either every op keeps its schedule, or every op gets the baseline's
schedule of it (``decide.baseline_schedule``: its GEMMs one after another, each
at its best, the batch split across the cores), whichever whole program the
simulator finds faster; a tie keeps the ops' schedules. The module attribute
``sched.program`` says what was compared and kept: ``{kept, cycles,
baseline_cycles}``, or ``{kept = "schedules", skipped = ...}`` when the program
is longer than ``limit`` instructions (option; 0: no limit) and not simulated.

Why: ``select-order`` and ``partition`` weigh each op alone or after the op
before it, but the planner plans a core's whole walk at once, and neighbours
overlap (one layer's last stores with the next one's first loads). On a small
network made of small layers (DLRM, whose layers each take a few thousand
cycles), choices each faster where they were weighed can add up to a program
slower than the baseline's. Simulating both programs costs a lowering and a
simulation each, so it is done for programs up to ``limit`` instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import baseline_schedule
from igoc.irutil import op_schedule, ops_in_training_order, sched_set
from igoc.passes.tile import record_schedule
from igoc.pipeline import module_target

LIMIT = 65536
"""Programs of more instructions are not simulated here (a program of 65,536 instructions
lowers and simulates in about two seconds on one core of a laptop)."""


def _program(module: ModuleOp):
    """The NPU program of a copy of ``module`` (the module itself is left as it is)."""
    from igoc.passes.lower_to_npu import LowerToNpuPass, program_from_module

    copy = module.clone()
    LowerToNpuPass().apply(Context(), copy)
    return program_from_module(copy)


def _cycles(program) -> int:
    from igoc.sim import simulate

    return int(simulate(program).report["cycles"])


def baseline_schedules(module: ModuleOp) -> list:
    """The baseline's schedule of each layer op, in training order."""
    target = module_target(module)
    order, descs = ops_in_training_order(module)
    return [baseline_schedule(descs[i], target) for i in range(len(order))]


@dataclass(frozen=True)
class ConfirmProgramPass(ModulePass):
    """Simulates the program against the baseline's schedules of its ops and keeps the faster."""

    name = "confirm-program"

    limit: int = LIMIT
    """Simulate only programs of at most this many instructions (0: any)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.limit < 0:
            raise ValueError(f"confirm-program: limit must be 0 or more, got {self.limit}")
        order, descs = ops_in_training_order(op)
        current = [op_schedule(layer, descs[i]) for i, (_, layer) in enumerate(order)]
        baseline = baseline_schedules(op)
        if current == baseline:
            sched_set(op, "program", {"kept": "schedules", "same_as_baseline": True})
            return
        chosen = _program(op)
        if self.limit and chosen.instruction_count > self.limit:
            sched_set(
                op,
                "program",
                {
                    "kept": "schedules",
                    "skipped": f"{chosen.instruction_count} instructions > limit {self.limit}",
                },
            )
            return
        copy = op.clone()
        copy_order, _ = ops_in_training_order(copy)
        for (_, layer), schedule in zip(copy_order, baseline, strict=True):
            record_schedule(layer, schedule)
        cycles, baseline_cycles = _cycles(chosen), _cycles(_program(copy))
        kept = "baseline" if baseline_cycles < cycles else "schedules"
        if kept == "baseline":
            for (_, layer), schedule in zip(order, baseline, strict=True):
                record_schedule(layer, schedule)
        sched_set(
            op, "program", {"kept": kept, "cycles": cycles, "baseline_cycles": baseline_cycles}
        )
