"""select-order: the tile order of every layer op, and its tiles.

Expects: layer ops (fused or not) annotated by ``tile``.
Guarantees: ``sched.schedule`` holds the chosen order and its tiles (and the
loop order of each GEMM when ``sequential``), and ``sched.candidates`` every
candidate weighed, each with its tiles, its DRAM bytes
and its estimated cycles (and its simulated cycles under ``exhaustive``), so a
dump shows what was chosen and why. Policies (option ``policy``):

- ``cost``: every order, ranked by the cost model (``sequential``, the
  baseline's schedule, is one of them, and is kept unless another is faster:
  by the simulator on ops small enough to simulate, by 5% of the estimate on
  the others; see ``igoc.cost.decide``);
- ``paper``: Algorithm 1 of the paper, from M, N and K alone;
- ``exhaustive``: every candidate of ``cost``, simulated;
- ``paper-oracle``: the paper's per-layer oracle, its three orders
  (only-interleaving, dX-major, dW-major) simulated and the fastest kept;
- an order's name (``only-interleaving``, ``dx-major``, ...): that order.

An op with a single GEMM (a forward op, or a gradient without its partner)
always gets the best loop order and tiles the cost model finds. Ops are decided
in training order (``dialects.views.training_order``); when an earlier layer shares a
tensor with a fused op and everything in between fits in SPM, its candidates
are weighed with that layer planned just before, so data it leaves in SPM
counts. Single GEMMs are weighed alone, as the baseline weighs them, so that a
fused op's ``sequential`` candidate is exactly the baseline's schedule. The
discipline ``tile`` gave an op (tiler, reuse) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import ORDER_POLICIES, fused_context, select_order
from igoc.cost.parallel import prefetch_ops
from igoc.cost.session import search_for
from igoc.dialects.npu import module_target
from igoc.dialects.sched import set_record, set_schedule
from igoc.dialects.views import TrainingLayers
from igoc.frontend import error_at
from igoc.progress import report
from igoc.schedule.planner import PlanError


@dataclass(frozen=True)
class SelectOrderPass(ModulePass):
    """Chooses each op's tile order and tiles (cost, paper, exhaustive, paper-oracle, an order)."""

    name = "select-order"

    policy: str = "cost"
    """cost, paper, exhaustive, paper-oracle, or the name of one order (e.g. dx-major)."""

    def __post_init__(self) -> None:
        if self.policy not in ORDER_POLICIES:
            raise ValueError(
                f"select-order: policy must be one of {', '.join(ORDER_POLICIES)}, "
                f"got {self.policy!r}"
            )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        search = search_for(ctx, target)
        layers = TrainingLayers.of(op, target)

        def request(index: int, desc):
            current = layers.schedule(index)
            discipline = current.discipline() if current else ("search", "belady")
            return (desc.signature(), discipline), (select_order, discipline, (desc, self.policy))

        prefetch_ops(ctx, search, layers, "select-order", request)  # the ops weighed alone
        for index, layer in enumerate(layers.ops):
            context = fused_context(layers.descs, index, target.spm_bytes, layers.schedule)
            desc = layers.descs[index]
            report(ctx, f"select-order: op {index + 1} of {len(layers.ops)} ({desc.name})")
            current = layers.schedule(index)
            discipline = current.discipline() if current else ("search", "belady")
            try:
                schedule, candidates = select_order(
                    search.under(*discipline), desc, self.policy, context=context
                )
            except (ValueError, PlanError) as err:  # bad input, or no schedule fits
                raise error_at(layer, str(err)) from None
            set_schedule(layer, schedule)
            set_record(layer, "policy", self.policy)
            set_record(layer, "candidates", candidates)
