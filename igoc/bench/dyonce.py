"""How much a step could gain if dY crossed the DRAM link only once: the paper's oracle.

The paper motivates IGO with two measurements: dY's share of the backward
pass's DRAM traffic (39.0% of reads and writes, 51.4% of reads, on an A100),
and an oracle that reads dY only once, which would run the backward pass 1.70×
(edge NPU) and 1.43× (server NPU) faster than its baseline. This takes both on
igoc's machines and schedules. For each of the nine networks on each target it
compiles the regime's baseline and ``igo`` (``baseline-paper`` and
``igo-paper``; ``baseline`` and ``igo`` with ``--regime strong``;
``baseline-noreuse`` and ``igo-noreuse`` with ``--regime noreuse``), simulates
them, and simulates the baseline's program once more with every output gradient
read-once (``igoc.sim.readonce``: a load of dY is charged only for elements its
core has not read before; the schedule is the same). Per network:

* dY's reads as a share of all the backward pass's DRAM bytes, read and written
  (the paper's measure), and of its reads alone, under the baseline (dY's reads
  are its loads: in the nine networks dY is an input of its layer, never written);
* how many times the baseline reads each byte of dY (1 is the least), and what its
  re-reads of dY are of the backward pass's bytes: to first order, the most the
  oracle can take off a backward pass bound by the DRAM link throughout;
* the oracle's reduction of the step's time (forward + backward, what the
  results compare) and of the backward pass's alone;
* igo's reduction of the step's time, for comparison.

The oracle is an upper bound on what removing dY's re-reads gives that
schedule; igo may gain more (it also changes how X, W and partial sums move).

    python -m igoc.bench.dyonce                        # edge, server, server-4c; paper regime
    python -m igoc.bench.dyonce --target edge --model res ncf --json out.json
    python -m igoc.bench.dyonce --target edge --set dram_bandwidth_gb_per_s=5.5
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import multiprocessing
import os
import signal
import sys
import time

from igoc import __version__
from igoc.bench import paper_values
from igoc.cli.common import ending_on_signals
from igoc.output import OutputError, open_output

REGIMES = {
    "paper": ("baseline-paper", "igo-paper"),
    "strong": ("baseline", "igo"),
    "noreuse": ("baseline-noreuse", "igo-noreuse"),
}
"""Each regime's reference pipeline and igo's (``noreuse``: the paper's, keeping no input
tile from one step to the next, an ablation of ``igoc-bench --decompose``)."""

PAPER_DY_SHARE = {key: value.value / 100 for key, value in paper_values.DY_SHARE.items()}
"""dY's share of the backward pass's DRAM traffic the paper measured (an A100)."""

PAPER_ORACLE_SPEEDUP = paper_values.DY_ORACLE_SPEEDUP
"""The paper's oracle reading dY once, against its baseline, per NPU. Shown under the
backward pass's reduction: the paper's text as igoc has it does not say whether the
speedup is of the backward pass or the whole step, and the backward pass's is igoc's
larger figure."""


def measure(
    network_label: str, target_spec: str, regime: str, settings: tuple[tuple[str, object], ...] = ()
) -> dict:
    """One network on one target (``settings``: keys of it replaced): the baseline, the
    oracle on its program, and igo."""
    from igoc.api import compile_text
    from igoc.bench.summary import label_kind, summarise
    from igoc.bench.workloads import model_choice, samples_dir, target_run, workload
    from igoc.cost.session import Session
    from igoc.sim import simulate
    from igoc.sim.readonce import output_gradients

    run = target_run(target_spec, settings)
    load = workload(model_choice(network_label), run, samples_dir())
    session = Session()  # the two pipelines share one search, as in igoc-bench
    reference, fused = REGIMES[regime]
    row: dict = {
        "network": network_label,
        "model": load.model,
        "target": run.name,
        "batch": run.batch,
        "regime": regime,
        "settings": {key: value for key, value in settings},
    }
    for side, pipeline in (("baseline", reference), ("igo", fused)):
        program = compile_text(load.text, run.target, pipeline, session=session,
                               filename=load.input_name)  # fmt: skip
        runs = {side: simulate(program).report}
        gradients = output_gradients(program)
        op_of_output = {o: op["op"] for op in program.reference or [] for o in op["outputs"]}
        if side == "baseline":
            runs["oracle"] = simulate(program, read_once=gradients).report
            dy_bytes = sum(t.nbytes for t in program.tensors if t.name in set(gradients))
        for name, report in runs.items():
            summary = summarise(program, report)
            backward_reads = sum(
                stats["dram_read_bytes"]
                for label, stats in report["labels"].items()
                if label_kind(label, op_of_output) == "backward"
            )
            row[name] = {
                "cycles": summary["cycles"],
                "backward_cycles": summary["backward_cycles"],
                "backward_dram_bytes": summary["backward_dram_bytes"],
                "backward_read_bytes": backward_reads,
                "dy_read_bytes": sum(report["traffic"][g]["read"] for g in gradients),
            }
    base, oracle, igo = row["baseline"], row["oracle"], row["igo"]
    row["dy_bytes"] = dy_bytes
    row["dy_share_of_backward_bytes"] = _ratio(base["dy_read_bytes"], base["backward_dram_bytes"])
    row["dy_share_of_backward_reads"] = _ratio(base["dy_read_bytes"], base["backward_read_bytes"])
    row["dy_reads_per_byte"] = _ratio(base["dy_read_bytes"], dy_bytes)
    rereads = base["dy_read_bytes"] - oracle["dy_read_bytes"]
    row["dy_rereads_share_of_backward_bytes"] = _ratio(rereads, base["backward_dram_bytes"])
    for name, side in (("oracle", oracle), ("igo", igo)):
        row[f"{name}_reduction"] = 1 - _ratio(side["cycles"], base["cycles"])
        backward = _ratio(side["backward_cycles"], base["backward_cycles"])
        row[f"{name}_backward_reduction"] = 1 - backward
    return row


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


COLUMNS = (
    ("dY/bwd bytes", "dy_share_of_backward_bytes", "%"),
    ("dY/bwd reads", "dy_share_of_backward_reads", "%"),
    ("dY reads/byte", "dy_reads_per_byte", "x"),
    ("re-reads/bwd", "dy_rereads_share_of_backward_bytes", "%"),
    ("oracle step", "oracle_reduction", "%"),
    ("oracle bwd", "oracle_backward_reduction", "%"),
    ("igo step", "igo_reduction", "%"),
    ("igo bwd", "igo_backward_reduction", "%"),
)
"""The table's columns: heading, row key, how shown."""


def means(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per target, the mean of every column over its networks."""
    out: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        per = out.setdefault(row["target"], {})
        for _, key, _ in COLUMNS:
            per.setdefault(key, []).append(row[key])
    return {t: {k: sum(v) / len(v) for k, v in per.items()} for t, per in out.items()}


def _cell(value: float, how: str) -> str:
    return f"{100 * value:.1f}%" if how == "%" else f"{value:.2f}"


def render(rows: list[dict]) -> str:
    """A table per target: a row per network, the mean, and the paper's figures beside."""
    averages = means(rows)
    width = max([len(row["network"]) for row in rows] + [len("paper (≈)")])
    lines = []
    for target in dict.fromkeys(row["target"] for row in rows):
        mine = [row for row in rows if row["target"] == target]
        first = mine[0]
        reference, fused = REGIMES[first["regime"]]
        lines.append(
            f"{target} (batch {first['batch']}): {reference}, the oracle reading dY once "
            f"on its program, and {fused}; reductions of time against {reference}"
        )
        lines.append(f"{'':<{width}}  " + "  ".join(f"{h:>13}" for h, _, _ in COLUMNS))
        for row in mine + [{"network": "mean", **averages[target]}]:
            cells = "  ".join(f"{_cell(row[key], how):>13}" for _, key, how in COLUMNS)
            lines.append(f"{row['network']:<{width}}  {cells}")
        speedup = PAPER_ORACLE_SPEEDUP.get(target.split("[", 1)[0])  # settings in brackets
        paper = [
            _cell(PAPER_DY_SHARE["bytes"], "%"),
            _cell(PAPER_DY_SHARE["reads"], "%"),
            "",
            "",
            "",
            f"{100 * (1 - 1 / speedup):.1f}%" if speedup else "",
            "",
            "",
        ]
        lines.append(f"{'paper':<{width}}  " + "  ".join(f"{c:>13}" for c in paper))
        lines.append("")
    lines.append(
        "paper: dY's shares measured on an A100; its oracle's speedup "
        + " and ".join(f"{s:.2f}x on {t}" for t, s in PAPER_ORACLE_SPEEDUP.items())
        + " (of the backward pass or the step: not said), shown as a reduction of time"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from igoc.bench.workloads import add_network_arguments
    from igoc.zoo.models import NETWORKS

    labels = [network.label for network in NETWORKS]
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="python -m igoc.bench.dyonce",
        description="dY's share of the backward traffic, and what reading dY once would gain.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--regime",
        choices=list(REGIMES),
        default="paper",
        help="paper: baseline-paper and igo-paper (the default); strong: baseline and igo; "
        "noreuse: baseline-noreuse and igo-noreuse",
    )
    add_network_arguments(parser)
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="processes to measure in (default: one per CPU)",
    )
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="replace a key of every target, as igoc-bench's --set "
        "(e.g. dram_bandwidth_gb_per_s=11)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON ('-': stdout)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    settings = _settings(parser, args.set, args.target)
    chosen = [label for label in labels if not args.model or label in args.model]
    tasks = [(label, target) for target in dict.fromkeys(args.target) for label in chosen]
    return ending_on_signals(parser.prog, lambda: _measured(args, tasks, settings))


def _measured(args: argparse.Namespace, tasks: list[tuple[str, str]], settings: tuple) -> int:
    """Measure, print the table, write the JSON; the exit status."""
    table = sys.stderr if args.json == "-" else sys.stdout
    try:
        with contextlib.ExitStack() as stack:
            # opened first: an output that cannot be written fails before the minutes of work
            stream = stack.enter_context(open_output(args.json, False)) if args.json else None
            rows = _run(tasks, args.regime, settings, args.jobs)
            table.write(render(rows))
            if stream is not None:
                document = {
                    "regime": args.regime,
                    "settings": dict(settings),
                    "rows": rows,
                    "means": means(rows),
                }
                stream.write(json.dumps(document, indent=2) + "\n")
    except OutputError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


def _settings(parser: argparse.ArgumentParser, texts: list[str], targets: list[str]) -> tuple:
    """``--set``'s settings, typed and tried on every target (bad usage: exit 2)."""
    from igoc.bench.workloads import check_targets
    from igoc.target import SettingError, parse_setting

    settings = []
    for text in texts:
        try:
            settings.append(parse_setting(text))
        except SettingError as err:
            parser.error(f"--set {text}: {err}")
    check_targets(parser, targets, settings)
    return tuple(settings)


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C (sent to the whole foreground group) to the command, which
    ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _measure_task(arguments: tuple) -> tuple[tuple[str, str], dict]:
    """``measure`` in a worker of the pool: the task and its row."""
    task, regime, settings = arguments
    return task, measure(*task, regime, settings)


def _run(tasks: list[tuple[str, str]], regime: str, settings: tuple, jobs: int) -> list[dict]:
    """Measure every (network, target), ``jobs`` at a time; rows in the order of ``tasks``."""
    started = time.perf_counter()
    found: dict[tuple[str, str], dict] = {}

    def report(task: tuple[str, str], row: dict) -> None:
        found[task] = row
        print(
            f"[{len(found)}/{len(tasks)}] {task[1]} {task[0]}: oracle "
            f"{100 * row['oracle_reduction']:.1f}%, igo {100 * row['igo_reduction']:.1f}% "
            f"({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    if jobs == 1:
        for task in tasks:
            report(task, measure(*task, regime, settings))
    else:
        # a pool that can be ended at once: on Ctrl-C or SIGTERM (``ending_on_signals``)
        # its workers stop with the command, not after the measurements they run
        # by its importable name, also when this module runs as ``__main__``
        module = importlib.import_module("igoc.bench.dyonce")
        pool = multiprocessing.get_context("fork").Pool(min(jobs, len(tasks)), module._quiet_worker)
        try:
            arguments = [(task, regime, settings) for task in tasks]
            for task, row in pool.imap_unordered(module._measure_task, arguments):
                report(task, row)
            pool.close()
        finally:
            pool.terminate()
            pool.join()
    return [found[task] for task in tasks]


if __name__ == "__main__":
    sys.exit(main())
