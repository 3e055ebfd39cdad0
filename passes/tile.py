"""tile: tile sizes for every layer op, for the order it has so far.

Expects: layer ops annotated by ``conv-to-gemm``.
Guarantees: every layer op carries ``sched.order`` (a single GEMM: its natural
loop order, reduction innermost; a fused op: ``only-interleaving``, each GEMM in
its own order), ``sched.tile`` (one ``[m, n, k]`` per computation: multiples
of the PE array's side, or the whole dimension) and ``sched.partition`` (the
batch split across the cores). The tiles are the cost model's best for that
order whose step fits twice in SPM (room for double buffering). A layer whose
smallest tiles do not fit is an error at its op that says how much SPM it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import initial_schedule
from igoc.frontend import error_at
from igoc.irutil import describe_op, layer_ops, sched_set, tensor_names
from igoc.pipeline import module_target
from igoc.schedule.describe import schedule_to_dict


def record_schedule(op, schedule) -> None:
    """Write a schedule's decisions into an op's ``sched.*`` attributes."""
    data = schedule_to_dict(schedule)
    sched_set(op, "order", data["order"])
    sched_set(op, "tile", data["tile"])
    if "loops" in data:
        sched_set(op, "loops", data["loops"])
    else:
        op.attributes.pop("sched.loops", None)
    sched_set(op, "partition", data["partition"])


@dataclass(frozen=True)
class TilePass(ModulePass):
    """Chooses tile sizes for every layer op (its natural order), fitting the SPM twice."""

    name = "tile"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        names_of = {}
        for function, layer in layer_ops(op):
            if function not in names_of:
                names_of[function] = tensor_names(op, function)
            desc = describe_op(layer, names_of[function])
            try:
                schedule, _ = initial_schedule(desc, target)
            except ValueError as err:
                raise error_at(layer, str(err)) from None
            record_schedule(layer, schedule)
