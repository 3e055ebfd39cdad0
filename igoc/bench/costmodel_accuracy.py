"""How well the cost model predicts the simulator: traffic (exact?) and cycles (error).

For the layers of some workloads on some targets, the schedule each pipeline
chose and every order ``select-order`` weighed is planned and estimated by the
cost model, and the same layer is simulated alone with the same schedule. The
report gives, per target, how many (layer, schedule) pairs were compared,
whether the cost model's DRAM traffic per tensor agreed with the simulator's
byte for byte, and the median, 90th percentile and largest relative error of
its cycles; and the errors of the fast estimate the searches rank candidates
with (one core for its peers, long walks from two prefixes).

    python -m igoc.bench.costmodel_accuracy                   # resnet50, bert, yolo; 3 targets
    python -m igoc.bench.costmodel_accuracy --model ncf t5 --target edge
"""

from __future__ import annotations

import argparse
import sys
import time


def _pairs(text: str, target, pipelines: list[str]):
    """(desc, schedule) pairs of a workload: chosen schedules and every candidate order."""
    from igoc import pipeline as pipelines_
    from igoc.cost.decide import default_partition, select_order
    from igoc.cost.search import Search
    from igoc.dialects.npu import stamp_target
    from igoc.dialects.sched import op_schedule
    from igoc.dialects.views import describe_op, layer_ops, tensor_names
    from igoc.frontend import parse_text
    from igoc.schedule.layer_schedule import LayerSchedule
    from igoc.schedule.steps import Tiling

    seen: dict[tuple, tuple] = {}
    search = Search(target)
    for pipeline in pipelines:
        spec = {
            "baseline": "conv-to-gemm,tile,select-order,partition{policy=m}",
            "igo": "conv-to-gemm,fuse-gradients,tile,select-order,partition",
        }[pipeline]
        module = parse_text(text)
        stamp_target(module, target)
        pipelines_.run(module, pipelines_.parse_spec(spec))
        names = tensor_names(module)
        for _, op in layer_ops(module):
            desc = describe_op(op, names)
            chosen = op_schedule(op, desc.computations)
            seen.setdefault((desc.signature(), chosen), (desc, chosen))
            if len(desc.computations) == 2:
                _, rows = select_order(search, desc, "cost")
                for row in rows:
                    if row.get("fits") is False:
                        continue
                    tiles = tuple(Tiling(*t) for t in row["tile"])
                    loops = None
                    cand = LayerSchedule(
                        desc.computations, row["order"], tiles, default_partition(target), loops
                    )
                    if row["order"] == "sequential":
                        continue  # its loop orders are not in the row; the chosen one covers it
                    seen.setdefault((desc.signature(), cand), (desc, cand))
    return list(seen.values())


def exact_estimate(desc, schedule, target):
    """The cost model's estimate of a lone layer planned exactly, as the lowering plans it
    (every core's whole walk; the cores with work share the channel)."""
    from igoc.cost.model import Estimate, estimate_plan, plan_program
    from igoc.cost.oracle import layer_tensors
    from igoc.schedule.program import layer_items, program_tensors, synchronise

    items = synchronise(layer_items(desc, schedule, target), target.cores)
    tensors = program_tensors(layer_tensors(desc), items)
    lowered = plan_program(target, tensors, [items] * target.cores)
    index = next(i for i, item in enumerate(items) if getattr(item, "desc", None) is desc)
    parts = []
    for core_plan in lowered.core_plans:
        plan_index, first, end = core_plan.where[index]
        if first < end:
            parts.append((core_plan.plans[plan_index].window(first, end), core_plan.ctx))
    estimates = [estimate_plan(plan, ctx, target, max(1, len(parts))) for plan, ctx in parts]
    traffic: dict[str, list[int]] = {}
    for est in estimates:
        for name, (read, write) in est.traffic.items():
            entry = traffic.setdefault(name, [0, 0])
            entry[0] += read
            entry[1] += write
    return Estimate(max((e.cycles for e in estimates), default=0.0), traffic)


def measure(text: str, target, pipelines: list[str]) -> list[tuple[float, float, bool, float]]:
    """Per (layer, schedule) pair: the cost model's cycles, the simulator's, whether their
    traffic agrees per tensor, and the fast estimate's cycles (the one searches rank with)."""
    from igoc.cost.oracle import layer_report
    from igoc.cost.search import Search
    from igoc.schedule.planner import PlanError

    out = []
    search = Search(target)
    for desc, schedule in _pairs(text, target, pipelines):
        if desc.materialized:
            continue
        try:
            exact = exact_estimate(desc, schedule, target)
        except PlanError:
            continue
        fast = search.evaluate(desc.layers(), schedule).estimate
        report = layer_report(desc, schedule, target)
        simulated = {
            name: [t["read"], t["write"]]
            for name, t in report["traffic"].items()
            if t["read"] or t["write"]
        }
        same = simulated == exact.traffic
        out.append((exact.cycles, float(report["cycles"]), same, fast.cycles if fast else 0.0))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print its summary."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False, prog="python -m igoc.bench.costmodel_accuracy"
    )
    parser.add_argument("--model", nargs="+", default=["res", "bert", "yolo"])
    parser.add_argument("--target", nargs="+", default=["edge", "server", "server-4c"])
    parser.add_argument("--pipeline", nargs="+", default=["baseline", "igo"])
    args = parser.parse_args(argv)
    from igoc.bench.workloads import model_choice, samples_dir, target_run, workload

    choices = [model_choice(m) for m in args.model]
    print(
        f"{'target':10s} {'pairs':>6s} {'traffic exact':>14s} {'median err':>11s} "
        f"{'p90 err':>8s} {'max err':>8s} {'fast median':>12s} {'fast p90':>9s}  seconds"
    )

    def pct(values: list[float], q: float) -> float:
        return 100 * values[int(q * (len(values) - 1))] if values else 0.0

    for spec in args.target:
        run = target_run(spec)
        rows: list[tuple[float, float, bool, float]] = []
        start = time.perf_counter()
        for choice in choices:
            rows += measure(workload(choice, run, samples_dir()).text, run.target, args.pipeline)
        errors = sorted(abs(e - s) / s for e, s, _, _ in rows if s > 0)
        fast = sorted(abs(f - s) / s for _, s, _, f in rows if s > 0)
        exact = sum(same for _, _, same, _ in rows)
        print(
            f"{spec:10s} {len(rows):6d} {exact:>8d}/{len(rows):<5d} {pct(errors, 0.5):10.2f}% "
            f"{pct(errors, 0.9):7.2f}% {pct(errors, 1.0):7.2f}% {pct(fast, 0.5):11.2f}% "
            f"{pct(fast, 0.9):8.2f}%  {time.perf_counter() - start:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
