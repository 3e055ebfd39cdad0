"""Planned and emitted layers, run on the simulator: right results, exact traffic, within bounds.

For random matmul and conv layers (odd sizes, stride, padding, dilation,
groups), random schedules (every order, random tile sizes and partitions) and
random small targets (array sides, SPM down to a few tiles, 1-4 cores):

- the simulated gradients equal the numpy reference (``igoc-sim --check``'s rule), with
  every output element written although DRAM starts with old data (the outputs the
  layer adds into or writes in part are zeroed first, as the lowering does);
- the cost model's traffic per tensor equals the simulator's, byte for byte, and so do its
  array cycles (under either array timing); with ``overlap = "serial"`` on one core its
  cycles are the simulator's (the sum of the instructions' durations);
- no SPM access goes beyond the core's capacity;
- DRAM traffic is at least the compulsory bytes, cycles at least the compute
  bound and the bandwidth bound.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from igoc.cost.model import item_estimates, plan_program
from igoc.cost.oracle import layer_tensors
from igoc.isa.instructions import DType
from igoc.schedule.describe import LayerDesc
from igoc.schedule.layer import ConvParams
from igoc.schedule.layer_schedule import INTERLEAVED_ORDERS, LayerSchedule, Partition
from igoc.schedule.planner import PlanError
from igoc.schedule.program import layer_items, program_tensors, synchronise
from igoc.schedule.steps import PERMUTATIONS, Tiling
from igoc.sim import simulate
from igoc.sim.compare import check_outputs, generate_inputs
from igoc.target import target_from_dict

NAMES = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}


def small_target(
    rows: int,
    cols: int,
    spm_bytes: int,
    cores: int,
    dataflow: str,
    array_timing: str = "pipelined",
    overlap: str = "double-buffered",
):
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
            "array_timing": array_timing,
            "overlap": overlap,
        }
    )


@st.composite
def layer_cases(draw):
    """A layer with both gradients: a matmul or a conv (stride, padding, dilation, groups)."""
    if draw(st.booleans()):
        m, k, n = (draw(st.integers(1, 40)) for _ in range(3))
        shapes = {"X": (m, k), "W": (k, n), "dY": (m, n), "dX": (m, k), "dW": (k, n)}
        return LayerDesc("layer", "matmul", ("dx", "dw"), NAMES, shapes)
    groups = draw(st.sampled_from([1, 1, 2]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    batch = draw(st.integers(1, 2))
    conv = ConvParams(stride, padding, dilation, groups)
    oh, ow = conv.output_hw(h, w, r, s)
    assume(oh > 0 and ow > 0)
    x, weights = (batch, cin, h, w), (cout, cin // groups, r, s)
    shapes = {"X": x, "W": weights, "dY": (batch, cout, oh, ow), "dX": x, "dW": weights}
    return LayerDesc("layer", "conv2d", ("dx", "dw"), NAMES, shapes, DType.F16, conv)


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
    timing=st.sampled_from(["scalesim", "pipelined"]),
    overlap=st.sampled_from(["double-buffered", "serial"]),
)
def test_planned_layer_runs_right_and_as_estimated(
    case, data, array, spm_kib, cores, dataflow, timing, overlap
):
    desc = case
    layers = desc.layers()
    target = small_target(*array, spm_kib * 1024, cores, dataflow, timing, overlap)
    schedule = data.draw(schedules(cores))
    items = synchronise(layer_items(desc, schedule, target), cores)
    tensors = program_tensors(layer_tensors(desc), items)
    try:
        lowered = plan_program(target, tensors, [items] * cores)
    except PlanError as err:
        assert err.needed_bytes > 0
        assume(False)
    traffic: dict[str, list[int]] = {}
    compute: list[int] = []  # per core
    cycles: list[float] = []
    for core_plan in lowered.core_plans:
        estimates = item_estimates(core_plan, items, target, cores)
        compute.append(sum(e.compute_cycles for e in estimates))
        cycles.append(sum(e.cycles for e in estimates))
        for estimate in estimates:
            for name, (read, write) in estimate.traffic.items():
                entry = traffic.setdefault(name, [0, 0])
                entry[0] += read
                entry[1] += write
    program = lowered.program({})

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
    assert simulated == {name: rw for name, rw in traffic.items() if any(rw)}
    assert [c["busy"]["compute"] for c in report["per_core"]] == compute
    if overlap == "serial" and cores == 1:
        assert report["cycles"] == math.ceil(cycles[0] - 1e-6)
    assert 0 < report["spm_peak_bytes"] <= target.spm_bytes
    for core in report["per_core"]:
        assert core["spm_peak_bytes"] <= target.spm_bytes

    compulsory = sum(math.prod(shape) * 2 for _, role, _, shape in tensors if role == "input")
    compulsory_out = sum(math.prod(shape) * 2 for _, role, _, shape in tensors if role == "output")
    # Every output element is written (by its result or a zero fill); an input element a tile
    # needs is read at least once (padding-only elements may not be).
    assert report["dram_write_bytes"] >= compulsory_out
    outputs = [name for name, role, _, _ in tensors if role == "output"]
    assert [result.unwritten[name] for name in outputs] == [0] * len(outputs)
    assert report["dram_read_bytes"] + report["dram_write_bytes"] > 0 or compulsory == 0
    macs = 2 * sum(layer.m * layer.n * layer.k for layer in layers)
    assert report["cycles"] >= macs / (target.pes * cores) - 1
    total_bytes = report["dram_read_bytes"] + report["dram_write_bytes"]
    assert report["cycles"] >= total_bytes / target.dram_bytes_per_cycle - 1


def displacing_walk(spm_bytes: int):
    """A fused walk on four cores of 8x7 PEs whose steps' tiles fit 2 KiB by their bytes, but
    not in the holes the steps before them leave: its target, tensors and items."""
    shapes = {"X": (32, 40), "W": (40, 35), "dY": (32, 35), "dX": (32, 40), "dW": (40, 35)}
    desc = LayerDesc("layer", "matmul", ("dx", "dw"), NAMES, shapes)
    target = small_target(8, 7, spm_bytes, 4, "ws")
    tiling = Tiling(12, 6, 15)
    schedule = LayerSchedule(("dx", "dw"), "fused-jli", (tiling, tiling), Partition(None, 1, 4))
    items = synchronise(layer_items(desc, schedule, target), 4)
    return target, program_tensors(layer_tensors(desc), items), items


def test_tiles_that_keep_displacing_each_other_do_not_hang_the_planner():
    """On a 2 KiB SPM the tiles of one step of this walk fit by their bytes, but never all at
    once in the holes that the previous step's tiles leave: placing one took back another,
    and so on forever (once it was reported as not fitting). The planner now takes back the
    step's tiles once and places them side by side: the walk is planned within the SPM, and
    the program computes the gradients."""
    target, tensors, items = displacing_walk(2048)
    lowered = plan_program(target, tensors, [items] * 4)
    assert all(p.peak_bytes <= target.spm_bytes for c in lowered.core_plans for p in c.plans)
    program = lowered.program({})
    inputs = generate_inputs(program, seed=2)
    result = simulate(program, functional=True, inputs=inputs)
    assert check_outputs(program, inputs, result.tensors, result.unwritten)["passed"]


def test_a_step_whose_tiles_do_not_fit_by_their_bytes_does_not_fit():
    """The same walk on 1 KiB: one step's tiles take more bytes than the SPM has; the error
    names the layer, the core and the step of the layer's walk."""
    target, tensors, items = displacing_walk(1024)
    with pytest.raises(PlanError) as info:
        plan_program(target, tensors, [items] * 4)
    assert info.value.needed_bytes > target.spm_bytes
    assert re.fullmatch(
        r"layer layer on core 0: step \d+ needs \d+ bytes of SPM, the budget is 1024",
        str(info.value),
    )
