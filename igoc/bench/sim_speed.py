"""Benchmark: simulator speed in timing-only mode, and functional mode on a 1-GFLOP program.

    python -m igoc.bench.sim_speed [--instructions N] [--cores C] [--functional-gflop G]

Builds a double-buffered tiled GEMM program (loads of A and B tiles, an
accumulating matmul per K step, a store per output tile) of about N
instructions on the ``server`` target (or ``server-<C>c``), writes it as a .npu
file, and in a fresh process reads it back and simulates it, printing
instructions per second and that process's peak resident memory. Then runs
a GEMM of at least ``G`` GFLOP in functional mode and prints its wall time.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from igoc.isa.encoding import RECORD_DTYPE, Opcode
from igoc.isa.instructions import DType
from igoc.isa.npufile import read_npu, write_npu
from igoc.isa.program import InstructionStream, Program, layout_tensors
from igoc.sim import simulate
from igoc.target import load_target


def gemm_records(m: int, k: int, n: int, tile: int, core: int = 0, cores: int = 1) -> np.ndarray:
    """Records of a tiled ``m x k · k x n`` GEMM (fp16 in, fp32 accumulate), rows split by core.

    SPM: two A buffers, two B buffers (double buffering), two C buffers.
    """
    tile_in = tile * tile * 2
    tile_acc = tile * tile * 4
    a_buf = [0, tile_in]
    b_buf = [2 * tile_in, 3 * tile_in]
    c_buf = [4 * tile_in, 4 * tile_in + tile_acc]
    base = core * load_target("server").spm_bytes if cores > 1 else 0
    rows = []
    step = 0
    out_tile = 0
    m_tiles = range(core, m // tile, cores)
    for i in m_tiles:
        for j in range(n // tile):
            c_addr = base + c_buf[out_tile % 2]
            for p in range(k // tile):
                a_addr, b_addr = base + a_buf[step % 2], base + b_buf[step % 2]
                step += 1
                a_off, b_off = i * tile * k + p * tile, p * tile * n + j * tile
                rows.append((Opcode.LOAD, 0, DType.F16, 0, 0, a_addr, tile, tile, 0, a_off, k))
                rows.append((Opcode.LOAD, 0, DType.F16, 0, 1, b_addr, tile, tile, 0, b_off, n))
                flags = 2 if p else 0
                rows.append(
                    (Opcode.MATMUL, flags, DType.F16, DType.F32, a_addr, b_addr, c_addr)
                    + (tile, tile, tile, 0)
                )
            c_off = i * tile * n + j * tile
            rows.append((Opcode.STORE, 0, DType.F32, 0, 2, c_addr, tile, tile, 0, c_off, n))
            out_tile += 1
    rows.append((Opcode.HALT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    return np.array(rows, dtype=RECORD_DTYPE)


def gemm_program(m: int, k: int, n: int, tile: int, target_name: str) -> Program:
    """A tiled GEMM program on a target, C = A·B with A (m x k), B (k x n) in DRAM."""
    target = load_target(target_name)
    tensors = layout_tensors(
        [
            ("a", "input", DType.F16, (m, k)),
            ("b", "input", DType.F16, (k, n)),
            ("c", "output", DType.F16, (m, n)),
        ]
    )
    streams = [
        InstructionStream(gemm_records(m, k, n, tile, c, target.cores)) for c in range(target.cores)
    ]
    reference = [{"op": "matmul", "inputs": ["a", "b"], "outputs": ["c"], "attrs": {}}]
    return Program(target, tensors, [], streams, [], reference, {"bench": "sim_speed"})


def _peak_rss_mib() -> float:
    """The process's peak resident memory (VmHWM on Linux: unlike ru_maxrss, it is not
    carried over from the parent across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timing_benchmark(instructions: int, cores: int) -> None:
    """Build and write a program of about ``instructions`` instructions; time it in a fresh
    process (so the peak memory is that of reading and simulating the file alone)."""
    tile = 128
    steps = max(1, round(instructions / 3.0))
    side = tile * max(1, round(steps ** (1 / 3)))
    k = tile * max(1, steps // ((side // tile) ** 2))
    name = "server" if cores == 1 else f"server-{cores}c"
    t0 = time.perf_counter()
    program = gemm_program(side, k, side, tile, name)
    build_s = time.perf_counter() - t0
    print(f"timing-only: GEMM {side}x{k}x{side}, tile {tile}, target {name}")
    print(f"  build                 {build_s:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.npu"
        t0 = time.perf_counter()
        write_npu(program, path)
        print(f"  write                 {time.perf_counter() - t0:.3f} s")
        del program
        command = [sys.executable, "-m", "igoc.bench.sim_speed", "--simulate-file", path]
        subprocess.run(command, check=True)


def simulate_file(path: str) -> None:
    """Read a .npu file and time its simulation (the child process of ``timing_benchmark``)."""
    t0 = time.perf_counter()
    program = read_npu(path)
    read_s = time.perf_counter() - t0
    rss_before = _peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(program)
    sim_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    count = result.report["instructions"]
    print(f"  read                  {read_s:.3f} s")
    print(f"  simulate              {sim_s:.2f} s  ->  {count / sim_s:,.0f} instructions/s")
    print(f"  simulate (CPU time)   {cpu_s:.2f} s  ->  {count / cpu_s:,.0f} instructions/s")
    print(f"  instructions          {count:,}")
    print(f"  simulated cycles      {result.report['cycles']:,}")
    print(f"  peak RSS              {_peak_rss_mib():.0f} MiB (after reading: {rss_before:.0f})")


def functional_benchmark(gflop: float) -> None:
    """Run a GEMM of about ``gflop`` GFLOP (2·m·k·n) on data and time it."""
    tile = 128
    side = tile * max(1, math.ceil((gflop * 1e9 / 2) ** (1 / 3) / tile))
    program = gemm_program(side, side, side, tile, "server")
    rng = np.random.default_rng(0)
    inputs = {
        "a": rng.standard_normal((side, side), dtype=np.float32).astype(np.float16),
        "b": rng.standard_normal((side, side), dtype=np.float32).astype(np.float16),
    }
    t0 = time.perf_counter()
    result = simulate(program, functional=True, inputs=inputs)
    wall = time.perf_counter() - t0
    expected = inputs["a"].astype(np.float32) @ inputs["b"].astype(np.float32)
    err = float(np.max(np.abs(result.outputs["c"].astype(np.float32) - expected)))
    print(f"functional: GEMM {side}^3 = {2 * side**3 / 1e9:.2f} GFLOP on 'server'")
    print(f"  instructions          {result.report['instructions']:,}")
    print(f"  wall time             {wall:.2f} s  (max abs error vs numpy {err:.3g})")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m igoc.bench.sim_speed``."""
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--instructions", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=1, choices=(1, 2, 4, 8))
    parser.add_argument("--functional-gflop", type=float, default=1.0)
    parser.add_argument("--simulate-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.simulate_file:
        simulate_file(args.simulate_file)
        return 0
    timing_benchmark(args.instructions, args.cores)
    if args.functional_gflop > 0:
        functional_benchmark(args.functional_gflop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
