"""partition: split each layer op along M, N or K, over the cores or in sequence on one.

Expects: layer ops with ``sched.schedule`` (after ``select-order``).
Guarantees: the partition of ``sched.schedule`` (``partition``, ``parts``,
``cores``): the frame is cut along that dimension into ``parts`` equal boxes;
box ``p`` runs on core ``p % cores``, the boxes of one core one after another.
Splitting a gradient's reduction (M for dW, N for dX) across cores makes its
tiles partial: each core adds its share into DRAM (those bytes are counted).
Splitting K makes every core read all of dY. The order is kept; tiles are
searched again for the boxes. ``sched.partitions`` lists the candidates weighed
with their DRAM bytes and cycles. Policies (option ``policy``): ``cost``,
``exhaustive`` (simulated), or a fixed ``m``, ``n``, ``k`` (split across the cores;
``m`` is the conventional batch split) or ``none``. Ops are decided in training
order, with the same context as in ``select-order``. Option ``ops``: ``all`` ops,
or only ``backward`` ones (forward ops then keep the batch split).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from igoc.cost.decide import PARTITION_POLICIES, choose_partition, fused_context
from igoc.cost.parallel import prefetch_ops
from igoc.cost.session import search_for
from igoc.dialects.npu import module_target
from igoc.dialects.sched import set_record, set_schedule
from igoc.dialects.views import TrainingLayers
from igoc.frontend import error_at
from igoc.progress import report
from igoc.schedule.planner import PlanError

OPS = ("all", "backward")


@dataclass(frozen=True)
class PartitionPass(ModulePass):
    """Splits each layer op along M, N or K, over the cores or in sequence on one."""

    name = "partition"

    policy: str = "cost"
    """cost, exhaustive, m, n, k or none."""

    ops: str = "backward"
    """Which ops the policy applies to: all, or backward (forward ops keep the batch split)."""

    def __post_init__(self) -> None:
        if self.policy not in PARTITION_POLICIES:
            raise ValueError(
                f"partition: policy must be one of {', '.join(PARTITION_POLICIES)}, "
                f"got {self.policy!r}"
            )
        if self.ops not in OPS:
            raise ValueError(f"partition: ops must be one of {', '.join(OPS)}, got {self.ops!r}")

    def _policy(self, desc) -> str:
        """The policy an op is partitioned by (forward ops keep the batch split when only
        the backward's are chosen)."""
        if self.ops == "backward" and desc.computations == ("fwd",):
            return "m"
        return self.policy

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = module_target(op)
        search = search_for(ctx, target)
        layers = TrainingLayers.of(op, target)

        def request(index: int, desc):
            schedule, policy = layers.schedule(index), self._policy(desc)
            if schedule is None:
                return None  # the walk below says so
            decide = (choose_partition, schedule.discipline(), (desc, schedule, policy, None))
            return (desc.signature(), schedule, policy), decide

        prefetch_ops(ctx, search, layers, "partition", request)  # the ops weighed alone
        for index, (layer, desc) in enumerate(zip(layers.ops, layers.descs, strict=True)):
            report(ctx, f"partition: op {index + 1} of {len(layers.ops)} ({desc.name})")
            schedule = layers.schedule(index)
            if schedule is None:
                raise error_at(layer, "partition needs sched.schedule: run tile first")
            policy = self._policy(desc)
            context = fused_context(layers.descs, index, target.spm_bytes, layers.schedule)
            try:
                schedule, candidates = choose_partition(
                    search.under(*schedule.discipline()), desc, schedule, policy, context
                )
            except (ValueError, PlanError) as err:  # bad input, or no schedule fits
                raise error_at(layer, str(err)) from None
            set_schedule(layer, schedule)
            if candidates:
                set_record(layer, "partitions", candidates)
