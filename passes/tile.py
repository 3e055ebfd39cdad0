"""tile: tile sizes for every layer op, for the order it has so far.

Expects: layer ops annotated by ``conv-to-gemm``.
Guarantees: every layer op carries ``sched.schedule``: its order (a single GEMM:
its natural loop order, reduction innermost; a fused op: ``only-interleaving``,
each GEMM in its own order), one tiling per computation (multiples of the PE
array's side, or the whole dimension) and the batch split across the cores.
The tiles are the largest aligned ones whose step fits twice in SPM (room for
double buffering). A layer whose smallest tiles do not fit is an error at its op
that says how much SPM it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import initial_schedule
from igoc.cost.session import search_for
from igoc.dialects.npu import module_target
from igoc.dialects.sched import set_schedule
from igoc.dialects.views import describe_op, layer_ops, tensor_names
from igoc.frontend import error_at


@dataclass(frozen=True)
class TilePass(ModulePass):
    """Chooses tile sizes for every layer op (its natural order), fitting the SPM twice."""

    name = "tile"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        search = search_for(ctx, module_target(op))
        names_of = {}
        for function, layer in layer_ops(op):
            if function not in names_of:
                names_of[function] = tensor_names(op, function)
            desc = describe_op(layer, names_of[function])
            try:
                schedule, _ = initial_schedule(search, desc)
            except ValueError as err:
                raise error_at(layer, str(err)) from None
            set_schedule(layer, schedule)
