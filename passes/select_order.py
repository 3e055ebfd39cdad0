"""select-order: the tile order of every layer op, and its tiles.

Expects: layer ops (fused or not) annotated by ``tile``.
Guarantees: ``sched.order`` and ``sched.tile`` hold the chosen order and its
tiles (``sched.loops`` the loop order of each GEMM when ``sequential``), and
``sched.candidates`` every candidate weighed, each with its tiles, its DRAM bytes
and its estimated cycles (and its simulated cycles under ``exhaustive``), so a
dump shows what was chosen and why. Policies (option ``policy``):

- ``cost``: every order, ranked by the cost model (``sequential``, the
  baseline's schedule, is one of them, so the choice never ranks worse);
- ``paper``: Algorithm 1 of the paper, from M, N and K alone;
- ``exhaustive``: every candidate of ``cost``, simulated;
- an order's name (``only-interleaving``, ``dx-major``, ...): that order.

An op with a single GEMM (a forward op, or a gradient without its partner)
always gets the best loop order and tiles the cost model finds.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import ORDER_POLICIES, select_order
from igoc.frontend import error_at
from igoc.irutil import describe_op, layer_ops, sched_set, tensor_names
from igoc.passes.tile import record_schedule
from igoc.pipeline import module_target


@dataclass(frozen=True)
class SelectOrderPass(ModulePass):
    """Chooses each layer op's tile order and tiles (policy cost, paper, exhaustive or an order)."""

    name = "select-order"

    policy: str = "cost"
    """cost, paper, exhaustive, or the name of one order (e.g. dx-major)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.policy not in ORDER_POLICIES:
            raise ValueError(
                f"select-order: policy must be one of {', '.join(ORDER_POLICIES)}, "
                f"got {self.policy!r}"
            )
        target = module_target(op)
        names_of = {}
        for function, layer in layer_ops(op):
            if function not in names_of:
                names_of[function] = tensor_names(op, function)
            desc = describe_op(layer, names_of[function])
            try:
                schedule, candidates = select_order(desc, target, self.policy)
            except ValueError as err:
                raise error_at(layer, str(err)) from None
            record_schedule(layer, schedule)
            sched_set(layer, "policy", self.policy)
            sched_set(layer, "candidates", candidates)
