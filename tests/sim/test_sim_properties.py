"""Properties of the simulator on random programs (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import gemm_program, random_inputs, tiny_target, valid_programs

from igoc.isa.cycles import matmul_cycles
from igoc.isa.instructions import (
    Barrier,
    ConvGeometry,
    DType,
    Gather,
    Halt,
    Load,
    Matmul,
    Scatter,
    Store,
)
from igoc.isa.numerics import round_to
from igoc.isa.program import Program, layout_tensors
from igoc.sim import SimError, simulate

F16, F32 = DType.F16, DType.F32


@settings(max_examples=60)
@given(valid_programs())
def test_cycles_at_least_compute_and_bandwidth_bounds(program):
    t = program.target
    report = simulate(program).report
    compute = max(
        sum(matmul_cycles(i.m, i.k, i.n, t) for i in stream if isinstance(i, Matmul))
        for stream in program.streams
    )
    moved = report["dram_read_bytes"] + report["dram_write_bytes"]
    bandwidth = moved / t.dram_bytes_per_cycle
    if moved:
        bandwidth += t.dram_latency_cycles  # the last transfer's data still has to arrive
    assert report["cycles"] >= math.floor(max(compute, bandwidth) - 1e-6)
    for core in report["per_core"]:
        assert core["busy"]["compute"] <= report["cycles"]
    assert sum(report["per_core"][c]["macs"] for c in range(t.cores)) == report["macs"]
    assert report["dram_read_bytes"] == sum(x["read"] for x in report["traffic"].values())


@settings(max_examples=40)
@given(valid_programs())
def test_simulation_is_deterministic(program):
    assert simulate(program).report == simulate(program).report


@settings(max_examples=50)
@given(
    st.integers(1, 20),
    st.integers(1, 20),
    st.integers(1, 20),
    st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)),
    st.booleans(),
    st.booleans(),
    st.sampled_from([DType.F16, DType.BF16, DType.F32]),
    st.sampled_from([DType.F16, DType.BF16, DType.F32]),
)
def test_functional_matmul_equals_numpy(m, k, n, tiles, ta, tb, in_dtype, out_dtype):
    program = gemm_program(tiny_target(), m, k, n, tiles, ta, tb, in_dtype, out_dtype)
    inputs = random_inputs(program, seed=m * 400 + k * 20 + n)
    result = simulate(program, functional=True, inputs=inputs)
    exact = inputs["a"].astype(np.float64) @ inputs["b"].astype(np.float64)
    got = result.outputs["c"].astype(np.float64)
    expected = round_to(exact, out_dtype).astype(np.float64)
    ulp = {DType.F16: 2.0**-10, DType.BF16: 2.0**-7, DType.F32: 2.0**-20}[out_dtype]
    # fp32 accumulation in a different order than float64, then one rounding
    np.testing.assert_allclose(
        got, expected, rtol=2 * ulp, atol=2 * ulp * (1 + np.abs(exact).max())
    )


@st.composite
def random_programs(draw):
    """Instruction streams with random fields, valid or not."""
    target = tiny_target(cores=draw(st.integers(1, 2)), spm_bytes=4096)
    tensors = layout_tensors(
        [
            ("a", "input", F16, (16, 16)),
            ("x", "input", DType.BF16, (1, 2, 5, 5)),
            ("o", "output", F32, (16, 16)),
        ]
    )
    convs = [ConvGeometry(1, 2, 5, 5, 3, 3, 2, 2, 1, 1), ConvGeometry(1, 2, 5, 5, 1, 1)]

    def mostly(valid, wide):  # mostly valid values, sometimes anything in a wider range
        return st.one_of(valid, valid, valid, wide)

    small = mostly(st.integers(1, 5), st.integers(0, 12))
    index = mostly(st.integers(0, 2), st.integers(0, 3))
    conv = mostly(st.integers(0, 1), st.integers(0, 2))
    nchw = mostly(st.just(1), index)
    all_cores = (1 << target.cores) - 1
    offset = mostly(st.integers(0, 20), st.integers(0, 70))
    stride = mostly(st.integers(5, 8), st.integers(0, 17))
    addr = mostly(st.integers(0, 63).map(lambda v: v * 64), st.integers(0, 4200))
    dtypes = st.sampled_from(list(DType))
    flag = st.booleans()
    inst = st.one_of(
        st.builds(Load, index, offset, small, small, stride, addr, dtypes, flag),
        st.builds(Store, index, offset, small, small, stride, addr, dtypes, flag, flag),
        st.builds(Gather, nchw, conv, small, small, small, small, addr, dtypes, flag),
        st.builds(Scatter, nchw, conv, small, small, small, small, addr, dtypes, flag),
        st.builds(Matmul, addr, addr, addr, small, small, small, dtypes, dtypes, flag, flag, flag),
        st.builds(Barrier, st.integers(0, 2), mostly(st.just(all_cores), st.integers(0, 4))),
    )
    streams = [draw(st.lists(inst, max_size=12)) + [Halt()] for _ in range(target.cores)]
    return Program(target, tensors, convs, streams)


@settings(max_examples=150)
@given(random_programs(), st.booleans())
def test_random_streams_end_in_a_result_or_a_sim_error(program, functional):
    """And so do their prefixes: cutting each stream at its first error runs deeper code."""
    for _ in range(8):
        try:
            result = simulate(program, functional=functional)
        except SimError as err:
            assert str(err)
            if err.core is None or err.index is None:
                return
            streams = [list(s) for s in program.streams]
            streams[err.core] = streams[err.core][: err.index]
            program = Program(program.target, program.tensors, program.convs, streams)
            continue
        assert result.report["cycles"] >= 0
        return
