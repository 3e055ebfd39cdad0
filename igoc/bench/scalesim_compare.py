"""Benchmark: igoc's matmul cycles against SCALE-Sim v3 itself.

    python -m igoc.bench.scalesim_compare --scalesim-python VENV/bin/python

SCALE-Sim is not a dependency of igoc: install it in a throwaway virtual
environment (``python -m venv VENV && VENV/bin/pip install scalesim "numpy<2"``;
scalesim 3.0.0 fails under numpy 2) and pass that environment's python, or set
``IGOC_SCALESIM_PYTHON``. Without it the script says so and exits 0.

For every GEMM shape, on 45x45 and 128x128 arrays, output and weight
stationary, it runs SCALE-Sim (GEMM topology, bandwidth mode CALC, so no memory
stalls) and igoc's simulator on a one-matmul program (the server preset with
``array_timing = "scalesim"``, the timing that models SCALE-Sim), and prints both cycle
counts. SCALE-Sim's "Total Cycles" is the index of the last cycle, one less
than the number of cycles; the table shows it as printed and compares it + 1.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import subprocess
import sys
import tempfile

from igoc.isa.instructions import DType, Halt, Matmul
from igoc.isa.program import Program
from igoc.sim import simulate
from igoc.target import load_target, target_from_dict

SHAPES = [  # (m, k, n)
    (16, 16, 16),
    (45, 45, 45),
    (64, 64, 64),
    (100, 200, 300),
    (128, 128, 128),
    (129, 130, 131),
    (256, 64, 512),
    (300, 45, 90),
    (512, 27, 64),
    (49, 1152, 128),
    (8, 2048, 16),
    (196, 256, 256),
]
ARRAYS = (45, 128)
DATAFLOWS = ("os", "ws")

CONFIG = """\
[general]
run_name = igoc_compare

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:    8192
FilterSramSzkB:   8192
OfmapSramSzkB:    8192
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10,10,10
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def scalesim_cycles(python: str, side: int, dataflow: str, shapes, folder: pathlib.Path):
    """SCALE-Sim's printed "Total Cycles" of each shape (one run, one layer per shape)."""
    run = folder / f"{dataflow}{side}"
    run.mkdir()
    (run / "scale.cfg").write_text(CONFIG.format(rows=side, cols=side, dataflow=dataflow))
    rows = ["Layer, M, N, K,"] + [f"g{i}, {m}, {n}, {k}," for i, (m, k, n) in enumerate(shapes)]
    (run / "gemm.csv").write_text("\n".join(rows) + "\n")
    (run / "layout.csv").write_text("Layer,\n")
    command = [python, "-m", "scalesim.scale", "-c", "scale.cfg", "-t", "gemm.csv"]
    command += ["-l", "layout.csv", "-p", "out", "-i", "gemm", "-s", "N"]
    done = subprocess.run(command, cwd=run, capture_output=True, text=True, check=False)
    reports = list((run / "out").rglob("COMPUTE_REPORT.csv"))
    if done.returncode != 0 or not reports:
        raise RuntimeError(f"SCALE-Sim failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    with open(reports[0], newline="") as f:
        table = list(csv.reader(f))
    return [int(row[2]) for row in table[1:] if row]


def igoc_cycles(side: int, dataflow: str, m: int, k: int, n: int) -> int:
    """Cycles igoc's simulator gives one matmul (its compute-queue busy time)."""
    data = load_target("server").as_dict()
    data.update(name=f"{dataflow}{side}", array_rows=side, array_cols=side, dataflow=dataflow)
    data.update(array_timing="scalesim")
    data.update(spm_bytes=64 << 20)
    target = target_from_dict(data)
    a, b, c = 0, m * k * 2, m * k * 2 + k * n * 2
    stream = [Matmul(a, b, c, m, k, n, DType.F16, DType.F32), Halt()]
    report = simulate(Program(target, [], [], [stream])).report
    return report["per_core"][0]["busy"]["compute"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m igoc.bench.scalesim_compare``."""
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description="igoc matmul cycles against SCALE-Sim v3"
    )
    parser.add_argument(
        "--scalesim-python",
        default=os.environ.get("IGOC_SCALESIM_PYTHON"),
        help="python of a virtual environment where scalesim is installed",
    )
    args = parser.parse_args(argv)
    python = args.scalesim_python
    if not python or not pathlib.Path(python).exists():
        print(
            "skipped: no SCALE-Sim; install it in a separate venv (pip install scalesim "
            "'numpy<2') and pass --scalesim-python VENV/bin/python"
        )
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for side in ARRAYS:
            for dataflow in DATAFLOWS:
                theirs = scalesim_cycles(python, side, dataflow, SHAPES, pathlib.Path(tmp))
                for (m, k, n), printed in zip(SHAPES, theirs, strict=True):
                    ours = igoc_cycles(side, dataflow, m, k, n)
                    rows.append((m, k, n, side, dataflow, ours, printed))
    print(
        f"{'m':>5} {'k':>5} {'n':>5} {'array':>8} {'df':>3} {'igoc':>9} "
        f"{'SCALE-Sim':>10} {'+1':>9}  agree"
    )
    agree = 0
    for m, k, n, side, dataflow, ours, printed in rows:
        same = ours == printed + 1
        agree += same
        print(
            f"{m:>5} {k:>5} {n:>5} {f'{side}x{side}':>8} {dataflow:>3} {ours:>9} "
            f"{printed:>10} {printed + 1:>9}  {'yes' if same else 'NO'}"
        )
    print(f"{agree} of {len(rows)} agree exactly (igoc cycles == SCALE-Sim's last-cycle index + 1)")
    return 0 if agree == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
