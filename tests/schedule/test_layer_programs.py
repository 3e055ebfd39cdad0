"""Planned and emitted layers, run on the simulator: right results, exact traffic, within bounds.

For random matmul and conv layers (odd sizes, stride, padding, dilation,
groups), random schedules (every order, random tile sizes and partitions) and
random small targets (array sides, SPM down to a few tiles, 1-4 cores):

- the simulated gradients equal the numpy reference (``igoc-sim --check``'s rule), with
  every output element written although DRAM starts with old data (the outputs the
  layer adds into or writes in part are zeroed first, as the lowering does);
- the cost model's traffic per tensor equals the simulator's, byte for byte;
- no SPM access goes beyond the core's capacity;
- DRAM traffic is at least the compulsory bytes, cycles at least the compute
  bound and the bandwidth bound.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from igoc.isa.instructions import Barrier, DType, Halt
from igoc.schedule.compile import emit_layer, estimate_layer, plan_layer
from igoc.schedule.emit import ProgramBuilder
from igoc.schedule.layer import conv_layers, matmul_layer
from igoc.schedule.planner import PlanError
from igoc.schedule.program import emit_zero, gemm_fills, zero_traffic
from igoc.schedule.schedule import INTERLEAVED_ORDERS, LayerSchedule, Partition
from igoc.schedule.steps import PERMUTATIONS, Tiling
from igoc.sim import simulate
from igoc.sim.check import check_outputs, generate_inputs
from igoc.target import target_from_dict

NAMES = {"X": "x", "W": "w", "DY": "dy", "DX": "dx", "DW": "dw"}


def small_target(rows: int, cols: int, spm_bytes: int, cores: int, dataflow: str):
    return target_from_dict(
        {
            "name": "tiny",
            "cores": cores,
            "array_rows": rows,
            "array_cols": cols,
            "clock_mhz": 1000.0,
            "spm_bytes": spm_bytes,
            "spm_shared": cores > 1,
            "dram_bandwidth_gb_per_s": 8.0 * cores,
            "dram_latency_cycles": 20,
            "dataflow": dataflow,
            "element_bytes": 2,
            "acc_bytes": 4,
            "psum_bytes": 2,
        }
    )


@st.composite
def layer_cases(draw):
    """A layer (its GEMMs, tensors and reference ops)."""
    if draw(st.booleans()):
        m, k, n = (draw(st.integers(1, 40)) for _ in range(3))
        layers = [matmul_layer("fc", m, k, n, DType.F16, NAMES)]
        tensors = {
            "x": ("input", (m, k)),
            "w": ("input", (k, n)),
            "dy": ("input", (m, n)),
            "dx": ("output", (m, k)),
            "dw": ("output", (k, n)),
        }
        ops = [
            {"op": "matmul_dx", "inputs": ["dy", "w"], "outputs": ["dx"], "attrs": {}},
            {"op": "matmul_dw", "inputs": ["x", "dy"], "outputs": ["dw"], "attrs": {}},
        ]
        return layers, tensors, ops
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    batch = draw(st.integers(1, 2))
    oh = (h + 2 * padding[0] - dilation[0] * (r - 1) - 1) // stride[0] + 1
    ow = (w + 2 * padding[1] - dilation[1] * (s - 1) - 1) // stride[1] + 1
    assume(oh > 0 and ow > 0)
    layers = conv_layers(
        "conv",
        (batch, cin, h, w),
        (cout, cin // groups, r, s),
        stride,
        padding,
        dilation,
        groups,
        DType.F16,
        NAMES,
    )
    attrs = {
        "stride": list(stride),
        "padding": list(padding),
        "dilation": list(dilation),
        "groups": groups,
    }
    tensors = {
        "x": ("input", (batch, cin, h, w)),
        "w": ("input", (cout, cin // groups, r, s)),
        "dy": ("input", (batch, cout, oh, ow)),
        "dx": ("output", (batch, cin, h, w)),
        "dw": ("output", (cout, cin // groups, r, s)),
    }
    ops = [
        {"op": "conv2d_dx", "inputs": ["dy", "w"], "outputs": ["dx"], "attrs": attrs},
        {"op": "conv2d_dw", "inputs": ["x", "dy"], "outputs": ["dw"], "attrs": attrs},
    ]
    return layers, tensors, ops


@st.composite
def schedules(draw, cores: int):
    order = draw(st.sampled_from(INTERLEAVED_ORDERS))
    tilings = [Tiling(*(draw(st.integers(1, 24)) for _ in range(3))) for _ in range(2)]
    if order != "sequential":
        tilings[1] = tilings[0]
    loops = None
    if order == "sequential" and draw(st.booleans()):
        loops = (draw(st.sampled_from(PERMUTATIONS)), draw(st.sampled_from(PERMUTATIONS)))
    dim = draw(st.sampled_from([None, "m", "n", "k"]))
    parts = 1 if dim is None else cores * draw(st.integers(1, 2))
    return LayerSchedule(("dx", "dw"), order, tuple(tilings), Partition(dim, parts, cores), loops)


@settings(max_examples=60)
@given(
    case=layer_cases(),
    data=st.data(),
    array=st.tuples(st.integers(2, 8), st.integers(2, 8)),
    spm_kib=st.integers(2, 32),
    cores=st.integers(1, 4),
    dataflow=st.sampled_from(["os", "ws"]),
)
def test_planned_layer_runs_right_and_as_estimated(case, data, array, spm_kib, cores, dataflow):
    layers, tensors, ops = case
    target = small_target(*array, spm_kib * 1024, cores, dataflow)
    schedule = data.draw(schedules(cores))
    try:
        core_plans = plan_layer(layers, schedule, target)
    except PlanError as err:
        assert err.needed_bytes > 0
        assume(False)
    estimate = estimate_layer(core_plans, target)
    builder = ProgramBuilder(target)
    for name, (role, shape) in tensors.items():
        builder.tensor(name, role, DType.F16, shape)
    # The outputs the layer adds into or writes in part are zeroed first, as the lowering does.
    shapes = {name: shape for name, (_, shape) in tensors.items()}
    fills = gemm_fills(layers, ("dx", "dw"), schedule, target, shapes)
    for core in range(cores):
        for fill in fills:
            emit_zero(fill, core, builder)
            for name, (_, written) in zero_traffic(fill, core).items():
                estimate.traffic.setdefault(name, [0, 0])[1] += written
        if fills and cores > 1:
            builder.streams[core].append(Barrier(0, (1 << cores) - 1))
    emit_layer(core_plans, builder, "layer")
    for stream in builder.streams:
        stream.append(Halt())
    program = builder.build(ops, {})

    inputs = generate_inputs(program, seed=1)
    result = simulate(program, functional=True, inputs=inputs)
    check = check_outputs(program, inputs, result.outputs, result.unwritten)
    assert check["passed"], check

    report = result.report
    simulated = {
        name: [t["read"], t["write"]]
        for name, t in report["traffic"].items()
        if t["read"] or t["write"]
    }
    assert simulated == estimate.traffic
    assert 0 < report["spm_peak_bytes"] <= target.spm_bytes
    for core in report["per_core"]:
        assert core["spm_peak_bytes"] <= target.spm_bytes

    compulsory = sum(
        math.prod(shape) * 2 for name, (role, shape) in tensors.items() if role == "input"
    )
    compulsory_out = sum(
        math.prod(shape) * 2 for name, (role, shape) in tensors.items() if role == "output"
    )
    # Every output element is written (by its result or a zero fill); an input element a tile
    # needs is read at least once (padding-only elements may not be).
    assert report["dram_write_bytes"] >= compulsory_out
    outputs = [name for name, (role, _) in tensors.items() if role == "output"]
    assert [result.unwritten[name] for name in outputs] == [0] * len(outputs)
    assert report["dram_read_bytes"] + report["dram_write_bytes"] > 0 or compulsory == 0
    macs = 2 * sum(layer.m * layer.n * layer.k for layer in layers)
    assert report["cycles"] >= macs / (target.pes * cores) - 1
    total_bytes = report["dram_read_bytes"] + report["dram_write_bytes"]
    assert report["cycles"] >= total_bytes / target.dram_bytes_per_cycle - 1
