"""How much the simulator's order of a core's DMAs moves the results.

Within a core, DMAs claim the DRAM channel in program order (``igoc/sim/README.md``):
a load that the stream places after a store waits behind that store's transfer
when the channel is busy, even if the load was ready first. A DMA engine that
served requests as they become ready would not make it wait. To see how much that
choice weighs, this compiles each network with the regime's baseline and ``igo``,
simulates each program as emitted and once more with every load (and gather)
moved ahead of the stores (and scatters) just before it in its core's stream,
as far as it shares neither SPM bytes nor a DRAM tensor with them (so the
program computes the same; ``hoist_loads``), and reports both programs' change
of cycles and igo's ratio to the baseline under each order. That is one other
fixed order, not a model of a DMA engine that serves requests as they become
ready: a moved load now goes ahead of a store that may have been ready long
before it. It says how much the results depend on the order the streams give
their DMAs, not which order is right.

    python -m igoc.bench.dma_order                      # edge, server, server-4c; strong regime
    python -m igoc.bench.dma_order --regime paper --target edge --model res ncf
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time

import numpy as np

from igoc import __version__
from igoc.cli.common import ending_on_signals
from igoc.output import OutputError, open_output

REGIMES = {"strong": ("baseline", "igo"), "paper": ("baseline-paper", "igo-paper")}
"""Each regime's reference pipeline and igo's."""


def hoist_loads(program):
    """``program`` with each load or gather moved ahead of the stores and scatters that
    precede it in its core's stream, up to the first that shares SPM bytes or a DRAM tensor
    with it (or anything but a store); and how many loads moved. Its labels are dropped:
    their instruction ranges no longer hold what they name."""
    from igoc.isa.program import InstructionStream, records_of
    from igoc.sim.columns import Columns

    streams = []
    moved = 0
    for records in records_of(program):
        c = Columns(records)
        writes = (c.is_store | c.is_scatter).tolist()
        reads = (c.is_load | c.is_gather).tolist()
        tensor, start, end = c.tensor.tolist(), c.start1.tolist(), c.end1.tolist()
        order: list[int] = []
        for i in range(c.n):
            at = len(order)
            if reads[i]:
                while at > 0:
                    j = order[at - 1]
                    if not writes[j] or tensor[j] == tensor[i]:
                        break
                    if start[i] < end[j] and start[j] < end[i]:  # the same SPM bytes
                        break
                    at -= 1
                moved += at != len(order)
            order.insert(at, i)
        streams.append(InstructionStream(records[np.array(order, dtype=np.int64)]))
    return dataclasses.replace(program, streams=streams, labels=[]), moved


def measure(network_label: str, target_spec: str, regime: str) -> dict:
    """One network on one target: both pipelines' cycles, as emitted and loads first."""
    from igoc.api import compile_text
    from igoc.bench.workloads import model_choice, samples_dir, target_run, workload
    from igoc.cost.session import Session
    from igoc.sim import simulate

    run = target_run(target_spec)
    load = workload(model_choice(network_label), run, samples_dir())
    session = Session()
    row: dict = {"network": network_label, "target": run.name, "regime": regime}
    for side, pipeline in zip(("baseline", "igo"), REGIMES[regime], strict=True):
        program = compile_text(load.text, run.target, pipeline, session=session,
                               filename=load.input_name)  # fmt: skip
        first, moved = hoist_loads(program)
        row[side] = {
            "cycles": simulate(program).report["cycles"],
            "loads_first_cycles": simulate(first).report["cycles"],
            "loads_moved": moved,
        }
    base, igo = row["baseline"], row["igo"]
    row["ratio"] = igo["cycles"] / base["cycles"]
    row["loads_first_ratio"] = igo["loads_first_cycles"] / base["loads_first_cycles"]
    return row


def render(rows: list[dict]) -> str:
    """A line per network and target: each side's change, igo's ratio under each order."""
    reference, fused = REGIMES[rows[0]["regime"]] if rows else ("", "")
    lines = [
        f"cycles with loads first / as emitted, and {fused} / {reference} under each order",
        f"{'target':<10} {'network':<8} {reference:>15} {fused:>15} {'as emitted':>11} "
        f"{'loads first':>12}",
    ]
    for row in rows:
        change = [row[s]["loads_first_cycles"] / row[s]["cycles"] for s in ("baseline", "igo")]
        lines.append(
            f"{row['target']:<10} {row['network']:<8} {change[0]:>15.4f} {change[1]:>15.4f} "
            f"{row['ratio']:>11.4f} {row['loads_first_ratio']:>12.4f}"
        )
    for target in dict.fromkeys(row["target"] for row in rows):
        mine = [row for row in rows if row["target"] == target]
        emitted = 1 - sum(row["ratio"] for row in mine) / len(mine)
        first = 1 - sum(row["loads_first_ratio"] for row in mine) / len(mine)
        lines.append(
            f"{target}: igo's mean reduction {100 * emitted:.2f}% as emitted, "
            f"{100 * first:.2f}% with loads first"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from igoc.bench.workloads import add_network_arguments, check_targets
    from igoc.zoo.models import NETWORKS

    labels = [network.label for network in NETWORKS]
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="python -m igoc.bench.dma_order",
        description="How much placing loads ahead of stores in each core's stream moves "
        "the results (the simulator's channel takes a core's DMAs in program order).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--regime",
        choices=list(REGIMES),
        default="strong",
        help="strong: baseline and igo (the default); paper: baseline-paper and igo-paper",
    )
    add_network_arguments(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON ('-': stdout)")
    args = parser.parse_args(argv)
    check_targets(parser, args.target)
    chosen = [label for label in labels if not args.model or label in args.model]

    def body() -> int:
        table = sys.stderr if args.json == "-" else sys.stdout
        try:
            with contextlib.ExitStack() as stack:
                # opened first: an output that cannot be written fails before the work
                stream = stack.enter_context(open_output(args.json, False)) if args.json else None
                rows = []
                started = time.perf_counter()
                for target in dict.fromkeys(args.target):
                    for label in chosen:
                        rows.append(measure(label, target, args.regime))
                        print(f"{target} {label} ({time.perf_counter() - started:.0f} s)",
                              file=sys.stderr, flush=True)  # fmt: skip
                table.write(render(rows))
                if stream is not None:
                    stream.write(json.dumps({"regime": args.regime, "rows": rows}, indent=2) + "\n")
        except OutputError as err:
            print(err, file=sys.stderr)
            return 1
        return 0

    return ending_on_signals(parser.prog, body)


if __name__ == "__main__":
    sys.exit(main())
