"""tile: tile sizes for every layer op, for the order it has so far.

Expects: layer ops annotated by ``conv-to-gemm``.
Guarantees: every layer op carries ``sched.schedule``: its order (a single GEMM:
its natural loop order, reduction innermost; a fused op: ``only-interleaving``,
each GEMM in its own order), one tiling per computation (multiples of the PE
array's side, or the whole dimension) and the batch split across the cores.
The tiles are the largest aligned ones whose step fits twice in SPM (room for
double buffering). A layer whose smallest tiles do not fit is an error at its op
that says how much SPM it needs.

Options ``tiler`` and ``reuse`` set the discipline every later pass keeps (it is part
of ``#sched.schedule``): ``tile{tiler=analytic reuse=window}`` is the paper's baseline's
(analytic tile sizes, reuse only within a half-SPM window; see
``igoc.schedule.layer_schedule``), under which the tiles are the analytic tiler's pick
for the op's natural order.
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
from igoc.schedule.layer_schedule import REUSES, TILERS


@dataclass(frozen=True)
class TilePass(ModulePass):
    """Chooses tile sizes for every layer op (its natural order), fitting the SPM twice."""

    name = "tile"

    tiler: str = "search"
    """search (tile sizes searched by the cost model) or analytic (the paper's baseline's)."""

    reuse: str = "belady"
    """belady (any tile kept for any later use), window (only within half the SPM) or none
    (no input tile kept from one step to the next)."""

    def __post_init__(self) -> None:
        if self.tiler not in TILERS:
            raise ValueError(f"tile: tiler must be one of {', '.join(TILERS)}, got {self.tiler!r}")
        if self.reuse not in REUSES:
            raise ValueError(f"tile: reuse must be one of {', '.join(REUSES)}, got {self.reuse!r}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        search = search_for(ctx, module_target(op)).under(self.tiler, self.reuse)
        names = tensor_names(op)
        for _, layer in layer_ops(op):
            desc = describe_op(layer, names)
            try:
                schedule, _ = initial_schedule(search, desc)
            except ValueError as err:
                raise error_at(layer, str(err)) from None
            set_schedule(layer, schedule)
