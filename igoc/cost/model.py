"""The cost model: a schedule's exact DRAM traffic and its estimated cycles, without simulating.

Traffic is exact: it is the planner's own accounting (``plan_traffic``) of the
very movements the lowering emits. Cycles come from a step-level pipeline that
follows the simulator's rules at the granularity of tile steps instead of
instructions:

- step ``s``'s loads go on the DRAM channel once the tiles they replace are no
  longer read — no later than the end of step ``s-2``'s compute (double
  buffering) — and the channel moves ``dram_bytes_per_cycle`` (a core's fair
  share when several cores stream at once);
- step ``s``'s matmuls start when step ``s-1``'s are done and the loads' data
  has arrived (``dram_latency_cycles`` after the transfer);
- the stores of the tiles step ``s`` completes follow its compute on the same
  channel.

It is orders of magnitude cheaper than the simulator, and its error against it
is a reported number (``igoc.bench.costmodel_accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from igoc.isa.cycles import matmul_cycles
from igoc.schedule.emit import EmitContext, action_bytes
from igoc.schedule.planner import Plan
from igoc.target import Target


@dataclass
class Estimate:
    """What the cost model predicts for one core's plan (or a whole layer)."""

    cycles: float
    traffic: dict[str, list[int]] = field(default_factory=dict)  # tensor -> [read, write]
    compute_cycles: int = 0
    macs: int = 0

    @property
    def dram_bytes(self) -> int:
        """All bytes read and written."""
        return sum(r + w for r, w in self.traffic.values())


def estimate_plan(plan: Plan, ctx: EmitContext, target: Target, sharing_cores: int = 1) -> Estimate:
    """Traffic and cycles of one core running ``plan``.

    ``sharing_cores``: how many cores stream from DRAM at the same time (each gets
    an equal share of the channel).
    """
    bytes_per_cycle = target.dram_bytes_per_cycle / max(1, sharing_cores)
    latency = target.dram_latency_cycles
    traffic: dict[str, list[int]] = {}
    # The bytes of a movement, by its kind and the identity of its tile key (the plan
    # keeps the keys alive): hashing the key itself would hash its access.
    moved: dict[tuple[str, int], tuple[str, int, int]] = {}

    def move(actions) -> int:
        total = 0
        for action in actions:
            memo = (action.kind, id(action.residency.key))
            found = moved.get(memo)
            if found is None:
                found = moved[memo] = action_bytes(action, ctx)
            name, read, write = found
            if not (read or write):
                continue
            entry = traffic.setdefault(name, [0, 0])
            entry[0] += read
            entry[1] += write
            total += read + write
        return total

    channel = 0.0  # when the channel is next free
    compute_end: list[float] = []
    pending_store = 0  # bytes of stores waiting for the channel
    pending_ready = 0.0
    compute_total = 0
    macs = 0
    for s, step in enumerate(plan.steps):
        gate = compute_end[s - 2] if s >= 2 else 0.0
        load_bytes = move(plan.before[s])
        start = max(channel, gate)
        channel = start + load_bytes / bytes_per_cycle
        data_ready = channel + latency if load_bytes else 0.0
        if pending_store:
            channel = max(channel, pending_ready) + pending_store / bytes_per_cycle
            pending_store = 0
        cycles = 0
        for mm in step:
            cycles += matmul_cycles(mm.m, mm.k, mm.n, target)
            macs += mm.m * mm.k * mm.n
        compute_total += cycles
        previous = compute_end[s - 1] if s >= 1 else 0.0
        compute_end.append(max(previous, data_ready) + cycles)
        store_bytes = move(plan.after[s])
        if store_bytes:
            pending_store += store_bytes
            pending_ready = compute_end[-1]
    end = compute_end[-1] if compute_end else 0.0
    if pending_store:
        channel = max(channel, pending_ready) + pending_store / bytes_per_cycle
        end = max(end, channel + latency)
    return Estimate(end, traffic, compute_total, macs)


def merge(estimates: Sequence[Estimate]) -> Estimate:
    """Cores running side by side: the slowest core's cycles, everyone's traffic summed."""
    traffic: dict[str, list[int]] = {}
    for est in estimates:
        for name, (read, write) in est.traffic.items():
            entry = traffic.setdefault(name, [0, 0])
            entry[0] += read
            entry[1] += write
    return Estimate(
        cycles=max((e.cycles for e in estimates), default=0.0),
        traffic=traffic,
        compute_cycles=max((e.compute_cycles for e in estimates), default=0),
        macs=sum(e.macs for e in estimates),
    )


def scale(estimate: Estimate, times: int) -> Estimate:
    """The estimate of ``times`` equal, independent repetitions run one after another."""
    return Estimate(
        cycles=estimate.cycles * times,
        traffic={name: [r * times, w * times] for name, (r, w) in estimate.traffic.items()},
        compute_cycles=estimate.compute_cycles * times,
        macs=estimate.macs * times,
    )
