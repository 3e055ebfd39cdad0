"""Shared by the simulator tests: small targets and programs built in a few lines."""

from __future__ import annotations

import pathlib

import numpy as np
from hypothesis import strategies as st

from igoc.isa.asm import parse_assembly
from igoc.isa.instructions import Barrier, DType, Halt, Load, Matmul, Store
from igoc.isa.program import Program, layout_tensors
from igoc.target import Target, load_target, target_from_dict

PROGRAMS = pathlib.Path(__file__).parent / "programs"
F16, F32 = DType.F16, DType.F32


def tiny_target(**changes) -> Target:
    """A 4x4-array target with round numbers: 1 GHz, 16 B/cycle, 100 cycles latency, 64 KiB,
    pipelined array timing, DMA and compute overlapping."""
    data = load_target("edge").as_dict()
    data.update(
        name="tiny",
        array_rows=4,
        array_cols=4,
        clock_mhz=1000.0,
        spm_bytes=65536,
        dram_bandwidth_gb_per_s=16.0,
        dram_latency_cycles=100,
        array_timing="pipelined",
        overlap="double-buffered",
    )
    data.update(changes)
    return target_from_dict(data)


def program_file(name: str) -> Program:
    """A hand-written program of tests/sim/programs."""
    path = PROGRAMS / name
    return parse_assembly(path.read_text(), str(path.name))


def gemm_program(
    target: Target,
    m: int,
    k: int,
    n: int,
    tiles: tuple[int, int, int],
    transpose_a: bool = False,
    transpose_b: bool = False,
    in_dtype: DType = DType.F16,
    out_dtype: DType = DType.F16,
) -> Program:
    """C = A·B tiled by (tm, tk, tn), edge tiles included, accumulating over K in SPM.

    With ``transpose_a`` the A tiles are loaded transposed and the matmul reads
    them back with ``transpose_a`` (likewise B): the product is the same.
    """
    tm, tk, tn = tiles
    tensors = layout_tensors(
        [
            ("a", "input", in_dtype, (m, k)),
            ("b", "input", in_dtype, (k, n)),
            ("c", "output", out_dtype, (m, n)),
        ]
    )
    size = in_dtype.nbytes
    a_bufs = [0, tm * tk * size]
    b_bufs = [2 * tm * tk * size + j * tk * tn * size for j in (0, 1)]
    c_base = b_bufs[1] + tk * tn * size
    c_bufs = [c_base, c_base + tm * tn * 4]
    stream = []
    step = 0
    out = 0
    for i0 in range(0, m, tm):
        for j0 in range(0, n, tn):
            mm, nn = min(tm, m - i0), min(tn, n - j0)
            c_addr = c_bufs[out % 2]
            out += 1
            for p0 in range(0, k, tk):
                kk = min(tk, k - p0)
                a_addr, b_addr = a_bufs[step % 2], b_bufs[step % 2]
                step += 1
                stream.append(Load(0, i0 * k + p0, mm, kk, k, a_addr, in_dtype, transpose_a))
                stream.append(Load(1, p0 * n + j0, kk, nn, n, b_addr, in_dtype, transpose_b))
                stream.append(
                    Matmul(
                        a_addr,
                        b_addr,
                        c_addr,
                        mm,
                        kk,
                        nn,
                        in_dtype,
                        DType.F32,
                        p0 > 0,
                        transpose_a,
                        transpose_b,
                    )
                )
            stream.append(Store(2, i0 * n + j0, mm, nn, n, c_addr, DType.F32))
    stream.append(Halt())
    reference = [{"op": "matmul", "inputs": ["a", "b"], "outputs": ["c"], "attrs": {}}]
    return Program(target, tensors, [], [stream], [], reference, {})


def random_inputs(program: Program, seed: int = 0) -> dict[str, np.ndarray]:
    """Standard normal values for every input tensor, in the tensor's storage type."""
    from igoc.isa.numerics import round_to

    rng = np.random.default_rng(seed)
    return {
        t.name: round_to(rng.standard_normal(t.shape, dtype=np.float32), t.dtype)
        for t in program.tensors
        if t.role == "input"
    }


SIDE = 16


@st.composite
def targets(draw, max_cores=3):
    """Small random targets, either array timing."""
    return tiny_target(
        cores=draw(st.integers(1, max_cores)),
        array_rows=draw(st.integers(1, 8)),
        array_cols=draw(st.integers(1, 8)),
        dataflow=draw(st.sampled_from(["os", "ws"])),
        array_timing=draw(st.sampled_from(["scalesim", "pipelined"])),
        dram_bandwidth_gb_per_s=draw(st.sampled_from([3.0, 16.0, 22.0, 150.0])),
        dram_latency_cycles=draw(st.integers(0, 150)),
        spm_shared=draw(st.booleans()),
    )


@st.composite
def block(draw):
    """A block of a SIDE x SIDE tensor: its offset, rows and columns."""
    rows, cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    r0, c0 = draw(st.integers(0, SIDE - rows)), draw(st.integers(0, SIDE - cols))
    return r0 * SIDE + c0, rows, cols


@st.composite
def valid_programs(draw, max_cores=3):
    """Random valid programs: loads, stores, matmuls in disjoint SPM areas, matched barriers."""
    target = draw(targets(max_cores))
    tensors = layout_tensors(
        [
            ("a", "input", F16, (SIDE, SIDE)),
            ("b", "input", F16, (SIDE, SIDE)),
            ("p", "psum", F16, (SIDE, SIDE)),
            ("c", "output", F32, (SIDE, SIDE)),
        ]
    )
    barriers = draw(st.integers(0, 2))
    streams = []
    for core in range(target.cores):
        base = core * target.spm_bytes if target.spm_shared else 0
        stream = []
        for _ in range(barriers + 1):
            for _ in range(draw(st.integers(0, 8))):
                what = draw(st.sampled_from(["load", "store", "matmul"]))
                if what == "matmul":
                    m, k, n = (draw(st.integers(1, 8)) for _ in range(3))
                    a = base + draw(st.integers(0, 7)) * 128
                    b = base + 1024 + draw(st.integers(0, 7)) * 128
                    c = base + 2048 + draw(st.integers(0, 7)) * 256
                    stream.append(Matmul(a, b, c, m, k, n, F16, F32, draw(st.booleans())))
                else:
                    off, rows, cols = draw(block())
                    addr = base + draw(st.integers(0, 31)) * 128
                    if what == "load":
                        t = draw(st.sampled_from([0, 1, 2]))
                        stream.append(
                            Load(t, off, rows, cols, SIDE, addr, F16, draw(st.booleans()))
                        )
                    else:
                        t = draw(st.sampled_from([2, 3]))
                        acc = draw(st.booleans())
                        stream.append(Store(t, off, rows, cols, SIDE, addr, F16, acc))
            stream.append(Barrier(7, (1 << target.cores) - 1))
        stream[-1] = Halt()
        streams.append(stream)
    return Program(target, tensors, [], streams)
