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
    from igoc.frontend import parse_text
    from igoc.irutil import describe_op, layer_ops, sched_get, tensor_names
    from igoc.schedule.describe import schedule_from_dict
    from igoc.schedule.layer_schedule import LayerSchedule
    from igoc.schedule.steps import Tiling

    seen: dict[tuple, tuple] = {}
    for pipeline in pipelines:
        spec = {
            "baseline": "conv-to-gemm,tile,select-order,partition{policy=m}",
            "igo": "conv-to-gemm,fuse-gradients,tile,select-order,partition",
        }[pipeline]
        module = parse_text(text)
        pipelines_.stamp_target(module, target)
        pipelines_.run(module, pipelines_.parse_spec(spec))
        for function, op in layer_ops(module):
            desc = describe_op(op, tensor_names(module, function))
            data = {k: sched_get(op, k) for k in ("order", "tile", "loops", "partition")}
            chosen = schedule_from_dict(desc.computations, data)
            seen.setdefault((desc.signature(), chosen), (desc, chosen))
            if len(desc.computations) == 2:
                _, rows = select_order(desc, target, "cost")
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


def measure(text: str, target, pipelines: list[str]) -> list[tuple[float, float, bool, float]]:
    """Per (layer, schedule) pair: the cost model's cycles, the simulator's, whether their
    traffic agrees per tensor, and the fast estimate's cycles (the one searches rank with)."""
    from igoc.cost.search import evaluate
    from igoc.cost.simulate import layer_report
    from igoc.schedule.compile import estimate_layer, plan_layer
    from igoc.schedule.planner import PlanError

    out = []
    for desc, schedule in _pairs(text, target, pipelines):
        if desc.materialized:
            continue
        layers = desc.layers()
        try:
            exact = estimate_layer(plan_layer(layers, schedule, target), target)
        except PlanError:
            continue
        fast = evaluate(layers, schedule, target).estimate
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
    parser = argparse.ArgumentParser(prog="python -m igoc.bench.costmodel_accuracy")
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
