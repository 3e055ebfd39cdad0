"""How close the baseline comes to the lower bounds of each GEMM it runs.

For every layer op (one GEMM: a forward op, a dX or a dW) of the workloads,
compiled with the ``baseline`` pipeline and simulated, the simulated cycles of
its label are compared with two lower bounds:

- compute: MACs / (PEs · cores), the array never idle;
- data movement: the larger of the compulsory bytes (each input read once, each
  output written once) and the I/O lower bound of a GEMM with an SPM of S
  elements, 2·M·N·K/√S elements (Smith et al., 2019), over the DRAM bandwidth.

bound / actual is printed per GEMM (``--per-gemm``) and as a geometric mean per
target, and weighted by time (the bounds' sum over the cycles' sum); and again
with the dataflow's own compute bound in place of MACs / PEs: the array cycles of
each GEMM done in one tile, under the target's array timing (``scalesim`` fills and
drains every fold, ``k + R + C - 2`` cycles for ``k`` MACs per PE; ``pipelined`` once
per matmul; a matmul per tile pays it at least as often). Where a
GEMM falls short, the array's fill and drain (the matmul cycles the chosen tiles
take, over MACs / PEs), the traffic beyond compulsory, and the rest (stalls,
overlap with neighbours) say where the time goes.

    python -m igoc.bench.baseline_bounds                      # all models, 3 targets
    python -m igoc.bench.baseline_bounds --model res --target edge --per-gemm
"""

from __future__ import annotations

import argparse
import math
import sys


def gemm_rows(text: str, run) -> list[dict]:
    """One row per layer op of a workload compiled with the baseline."""
    from igoc import pipeline as pipelines
    from igoc.cost.search import WHOLE, compute_cycles
    from igoc.dialects.npu import stamp_target
    from igoc.dialects.sched import op_schedule
    from igoc.dialects.views import describe_op, layer_ops, tensor_names
    from igoc.frontend import parse_text
    from igoc.passes.lower_to_npu import program_from_module
    from igoc.schedule.steps import Tiling
    from igoc.sim import simulate

    target = run.target
    module = parse_text(text)
    stamp_target(module, target)
    steps = pipelines.build_pipeline("baseline")
    session = pipelines.run(module, steps[:-1])  # all but lower-to-npu: keep the ops to describe
    ops = []
    names = tensor_names(module)
    for _, op in layer_ops(module):
        desc = describe_op(op, names)
        ops.append((desc, op_schedule(op, desc.computations)))
    session = pipelines.run(module, steps[-1:], session=session)
    report = simulate(program_from_module(module, ctx=session)).report
    spm_elems = target.spm_bytes * target.cores / 2
    bytes_per_cycle = target.dram_bytes_per_cycle
    rows = []
    for desc, schedule in ops:
        label = report["labels"].get(desc.name)
        if not label:
            continue
        m, n, k, groups = desc.gemm_dims()
        macs = m * n * k * groups
        compulsory = sum(math.prod(s) for s in desc.shapes.values()) * desc.dtype.nbytes
        io_bound = 2 * m * n * k * groups / math.sqrt(spm_elems) * desc.dtype.nbytes
        compute = macs / (target.pes * target.cores)
        data = max(compulsory, io_bound) / bytes_per_cycle
        layer = desc.layers()[0]
        array = (
            sum(
                compute_cycles(layer, c, t, schedule.partition, target)
                for c, t in zip(schedule.computations, schedule.tilings, strict=True)
            )
            * groups
            / max(1, schedule.partition.cores)
        )
        whole = Tiling(m, n, k)
        dataflow = (
            sum(compute_cycles(layer, c, whole, WHOLE, target) for c in schedule.computations)
            * groups
            / target.cores
        )
        moved = label["dram_read_bytes"] + label["dram_write_bytes"]
        rows.append(
            {
                "array_cycles": array,
                "moved_cycles": moved / bytes_per_cycle,
                "layer": desc.name,
                "gemm": f"{m}x{n}x{k}" + (f"x{groups}g" if groups > 1 else ""),
                "cycles": label["cycles"],
                "compute_bound": compute,
                "data_bound": data,
                "ratio": max(compute, data) / label["cycles"],
                "dataflow_bound": dataflow,
                "dataflow_ratio": max(dataflow, data) / label["cycles"],
                "fill_drain": array / compute if compute else 1.0,
                "traffic_over_compulsory": moved / compulsory if compulsory else 1.0,
            }
        )
    return rows


def _why(row: dict) -> str:
    bound = "compute" if row["compute_bound"] >= row["data_bound"] else "data"
    return (
        f"{bound}-bound; array {row['fill_drain']:.2f}x MACs/PEs (fill and drain), "
        f"traffic {row['traffic_over_compulsory']:.2f}x compulsory"
    )


def main(argv: list[str] | None = None) -> int:
    """Print bound / actual per target (and per GEMM when asked)."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False, prog="python -m igoc.bench.baseline_bounds"
    )
    parser.add_argument("--model", nargs="+", default=None)
    parser.add_argument("--target", nargs="+", default=["edge", "server", "server-4c"])
    parser.add_argument("--per-gemm", action="store_true", help="one line per GEMM")
    parser.add_argument("--aim", type=float, default=0.7, help="the ratio a GEMM should reach")
    args = parser.parse_args(argv)
    from igoc.bench.workloads import default_models, model_choice, samples_dir, target_run, workload

    choices = [model_choice(m) for m in args.model] if args.model else default_models()
    for spec in args.target:
        run = target_run(spec)
        rows = []
        for choice in choices:
            w = workload(choice, run, samples_dir())
            for row in gemm_rows(w.text, run):
                row["model"] = w.model
                rows.append(row)
        geo = math.exp(sum(math.log(r["ratio"]) for r in rows) / len(rows)) if rows else 0
        short = [r for r in rows if r["ratio"] < args.aim]
        total = sum(r["cycles"] for r in rows) or 1
        weighted = sum(max(r["compute_bound"], r["data_bound"]) for r in rows) / total
        array_bound = sum(r["cycles"] for r in rows if r["array_cycles"] >= r["moved_cycles"])
        geo_flow = math.exp(sum(math.log(r["dataflow_ratio"]) for r in rows) / len(rows))
        weighted_flow = sum(max(r["dataflow_bound"], r["data_bound"]) for r in rows) / total
        print(
            f"{spec}: {len(rows)} GEMMs, geometric mean of bound/actual {geo:.3f}; "
            f"{len(short)} below {args.aim}; weighted by time {weighted:.3f}; "
            f"{100 * array_bound / total:.0f}% of the time in GEMMs whose array cycles "
            f"(fill and drain included) exceed their DRAM transfer time"
        )
        print(
            f"  with the dataflow's own bound for compute (each GEMM in one tile: every "
            f"fold fills and drains once): geometric mean {geo_flow:.3f}, weighted by time "
            f"{weighted_flow:.3f}"
        )
        by_model: dict[str, list[float]] = {}
        for r in rows:
            by_model.setdefault(r["model"], []).append(r["ratio"])
        for model, ratios in by_model.items():
            g = math.exp(sum(map(math.log, ratios)) / len(ratios))
            print(f"  {model:14s} {len(ratios):4d} GEMMs  geomean {g:.3f}  min {min(ratios):.3f}")
        if args.per_gemm:
            for r in rows:
                print(
                    f"    {r['model']:12s} {r['layer'][:28]:28s} {r['gemm']:>18s} "
                    f"{r['ratio']:.3f}  {_why(r)}"
                )
        elif short:
            worst = sorted(short, key=lambda r: r["ratio"])[:5]
            print("  furthest from the bound:")
            for r in worst:
                print(
                    f"    {r['model']:12s} {r['layer'][:28]:28s} {r['gemm']:>18s} "
                    f"{r['ratio']:.3f}  {_why(r)}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
