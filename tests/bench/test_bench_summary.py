"""The figures of one job: interval unions, forward/backward split, per-layer detail and bounds."""

from __future__ import annotations

import math
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.api import compile_file
from igoc.bench.summary import label_kind, summarise, union_cycles
from igoc.sim import simulate

ROOT = pathlib.Path(__file__).parents[2]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=12))
def test_union_counts_each_covered_cycle_once(pairs):
    intervals = [(float(start), float(start + length)) for start, length in pairs]
    covered = {c for start, end in intervals for c in range(int(start), int(end))}
    assert union_cycles(intervals) == len(covered)


def test_union_of_fractional_intervals_rounds_up():
    assert union_cycles([(0.5, 1.25), (1.0, 2.0)]) == math.ceil(1.5)
    assert union_cycles([]) == 0


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("c.y", "forward"),
        ("c.dx", "backward"),
        ("c.dw", "backward"),
        ("c.dx+c.dw", "backward"),
        ("c.y+c.dw", "backward"),
        ("reduce", "other"),
        ("c.dx:zero", "backward"),
        ("c.dw.partial:zero", "backward"),
        ("c.dx.col:col2im", "backward"),
        ("c.x.col:im2col", "other"),
    ],
)
def test_label_kind_follows_the_source_op(label, kind):
    ops = {"c.y": "conv2d", "c.dx": "conv2d_dx", "c.dw": "conv2d_dw"}
    assert label_kind(label, ops) == kind


@pytest.fixture(scope="module", params=[("ncf-b4.mlir", "edge"), ("ncf-b8.mlir", "server-2c")])
def compiled(request):
    name, target = request.param
    program = compile_file(str(ROOT / "samples" / "models" / name), target, pipeline="igo")
    report = simulate(program).report
    return program, report, summarise(program, report)


def test_totals_come_from_the_report(compiled):
    _, report, summary = compiled
    for key in ("cycles", "macs", "dram_read_bytes", "dram_write_bytes", "instructions"):
        assert summary[key] == report[key]


def test_forward_and_backward_split_the_work(compiled):
    _, report, summary = compiled
    total = report["dram_read_bytes"] + report["dram_write_bytes"]
    assert summary["forward_dram_bytes"] + summary["backward_dram_bytes"] == total
    assert 0 < summary["backward_cycles"] <= summary["cycles"]
    assert 0 < summary["forward_cycles"] <= summary["cycles"]
    # Forward and backward overlap only where consecutive layers meet.
    assert summary["forward_cycles"] + summary["backward_cycles"] >= summary["cycles"]


def test_layers_are_the_functions_in_source_order(compiled):
    _, _, summary = compiled
    assert [layer["name"] for layer in summary["layers"]] == ["mlp1", "mlp2", "mlp3", "predict"]
    for layer in summary["layers"]:
        kinds = sorted(op["kind"] for op in layer["ops"])
        assert kinds[-1] == "forward" and "backward" in kinds
        assert {"x", "w", "dy", "y", "dx", "dw"} <= set(layer["traffic"])


def test_layer_traffic_adds_up_to_the_whole(compiled):
    _, report, summary = compiled
    layers = summary["layers"]
    assert sum(layer["dram_read_bytes"] for layer in layers) == report["dram_read_bytes"]
    assert sum(layer["dram_write_bytes"] for layer in layers) == report["dram_write_bytes"]
    assert sum(layer["macs"] for layer in layers) == report["macs"]


def test_layer_cycles_respect_both_bounds(compiled):
    program, _, summary = compiled
    target = program.target
    for layer in summary["layers"]:
        assert layer["compute_bound_cycles"] == math.ceil(
            layer["macs"] / (target.pes * target.cores)
        )
        assert layer["cycles"] >= layer["compute_bound_cycles"]
        assert layer["cycles"] >= layer["data_bound_cycles"]
        traffic = layer["dram_read_bytes"] + layer["dram_write_bytes"]
        assert traffic >= layer["compulsory_bytes"]


def test_partition_and_cores_are_recorded(compiled):
    program, _, summary = compiled
    for layer in summary["layers"]:
        for op in layer["ops"]:
            if op["schedule"] is None:  # a fill of an output the cores add into, no layer op
                assert op["label"].endswith(":zero") and op["kind"] == "backward"
                continue
            assert op["schedule"]["partition"]["dim"] in ("none", "m", "n", "k")
            assert 1 <= op["cores"] <= program.target.cores


def test_single_function_file_is_one_layer():
    program = compile_file(str(ROOT / "samples" / "basics" / "conv3x3.mlir"), "edge", "baseline")
    report = simulate(program).report
    summary = summarise(program, report)
    assert [layer["name"] for layer in summary["layers"]] == ["main"]
    (layer,) = summary["layers"]
    # dX is zeroed first: the 3x3 windows overlap, so its col2im scatter adds into it.
    assert sorted(op["label"] for op in layer["ops"]) == ["dw", "dx", "dx:zero", "y"]
    inputs = sum(t.nbytes for t in program.tensors if t.role in ("input", "output"))
    assert layer["compulsory_bytes"] == inputs


def test_every_argument_used_keeps_all_inputs_and_outputs_compulsory(compiled):
    program, _, summary = compiled
    inputs = sum(t.nbytes for t in program.tensors if t.role in ("input", "output"))
    assert sum(layer["compulsory_bytes"] for layer in summary["layers"]) == inputs


# mlp.mlir: %w1 is an argument that no op reads (layer 1 computes dW only). Its
# compulsory bytes are the other arguments, each read once, and the three dW written once.
MLP_READ = 2 * (4 * 256 + 4 * 128 + 4 * 64 + 128 * 64 + 64 * 32 + 4 * 32)
MLP_WRITTEN = 2 * (256 * 128 + 128 * 64 + 64 * 32)


@pytest.mark.parametrize("pipeline", ["baseline", "igo-interleave", "igo-rearrange", "igo"])
def test_an_argument_no_op_reads_is_no_compulsory_traffic(pipeline):
    from igoc.bench.layers import layer_row

    program = compile_file(str(ROOT / "samples" / "basics" / "mlp.mlir"), "edge", pipeline)
    summary = summarise(program, simulate(program).report)
    (layer,) = summary["layers"]
    assert layer["compulsory_bytes"] == MLP_READ + MLP_WRITTEN
    bytes_per_cycle = program.target.dram_bytes_per_cycle
    assert layer["data_bound_cycles"] == math.ceil((MLP_READ + MLP_WRITTEN) / bytes_per_cycle)
    assert layer["cycles"] >= max(layer["data_bound_cycles"], layer["compute_bound_cycles"])
    assert float(layer_row(layer, pipeline)[7]) >= 1
