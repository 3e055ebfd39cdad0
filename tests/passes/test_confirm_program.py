"""confirm-program compares the whole program with the baseline's and keeps the faster."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipelines import programs, tiny_target

from igoc import pipeline
from igoc.api import compile_module, compile_text
from igoc.dialects.npu import stamp_target
from igoc.dialects.sched import from_attr
from igoc.frontend import parse_file, parse_text
from igoc.frontend.diagnostics import DiagnosticError
from igoc.pipeline import PipelineError
from igoc.sim import simulate
from igoc.target import load_target

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples"
BEFORE = "conv-to-gemm,fuse-gradients,tile,select-order,partition"


def run_passes(module, target: str, spec: str) -> None:
    """Run ``spec`` on ``module`` (and nothing else: no lowering)."""
    stamp_target(module, load_target(target))
    pipeline.run(module, pipeline.parse_spec(spec))


def cycles(program) -> int:
    return int(simulate(program).report["cycles"])


def decision(module) -> dict:
    return from_attr(module.attributes["sched.program"])  # type: ignore[return-value]


@settings(max_examples=10, deadline=None)
@given(
    text=programs(),
    side=st.sampled_from([2, 4, 8]),
    spm_kib=st.integers(8, 64),
    cores=st.integers(1, 4),
)
def test_what_it_compares_is_the_baseline_program(text, side, spm_kib, cores):
    """The baseline cycles it weighs are those of the ``baseline`` pipeline's program, and
    ``igo`` ends as the fastest program it weighed."""
    target = tiny_target(side, spm_kib, cores, 2)
    baseline = cycles(compile_text(text, target, "baseline"))
    module = parse_text(text)
    igo = cycles(compile_module(module, target, "igo"))
    found = decision(module)
    assert igo <= baseline
    if found.get("same_as_baseline"):
        assert igo == baseline
        return
    assert found["baseline_cycles"] == baseline
    weighed = {"schedules": found["cycles"], "baseline": baseline}
    if "unsplit_cycles" in found:
        weighed["unsplit"] = found["unsplit_cycles"]
    assert igo == min(weighed.values())
    assert weighed[found["kept"]] == igo


def test_a_network_of_small_layers_keeps_the_baseline_schedules():
    """DLRM on the edge NPU: each op's choice was faster where it was weighed (alone or
    after the op before it), yet the whole program is slower than the baseline's; igo
    keeps the baseline's schedules there."""
    path = SAMPLES / "models" / "dlrm-b4.mlir"
    baseline = cycles(compile_module(parse_file(str(path)), "edge", "baseline"))
    chosen = parse_file(str(path))
    run_passes(chosen, "edge", BEFORE)
    unguarded = cycles(compile_module(chosen, "edge", pass_pipeline="lower-to-npu"))
    module = parse_file(str(path))
    igo = cycles(compile_module(module, "edge", "igo"))
    found = decision(module)
    assert found["kept"] == "baseline"
    assert (found["cycles"], found["baseline_cycles"]) == (unguarded, baseline)
    assert min(unguarded, found.get("unsplit_cycles", unguarded)) > baseline
    assert igo == baseline


def test_a_program_over_the_limit_is_not_simulated():
    path = SAMPLES / "basics" / "mlp.mlir"
    plain = parse_file(str(path))
    run_passes(plain, "edge", BEFORE)
    limited = parse_file(str(path))
    run_passes(limited, "edge", BEFORE + ",confirm-program{limit=1}")
    found = decision(limited)
    assert found["kept"] == "schedules"
    assert found["skipped"].endswith("steps > limit 1")
    del limited.attributes["sched.program"]
    assert str(limited) == str(plain)


def test_a_negative_limit_is_bad_usage():
    with pytest.raises(PipelineError, match="limit must be 0 or more, got -1"):
        pipeline.parse_spec(BEFORE + ",confirm-program{limit=-1}")


def test_an_op_without_a_schedule_is_reported_at_its_line():
    module = parse_file(str(SAMPLES / "basics" / "mlp.mlir"))
    with pytest.raises(DiagnosticError, match=r"mlp.mlir:\d+:\d+: error: confirm-program needs"):
        run_passes(module, "edge", "confirm-program")


def test_it_weighs_the_orders_unsplit_when_an_op_was_split():
    """Split along K on two cores (not the batch split): the same orders with the batch
    split are weighed too, and the ops end with the fastest of the three programs."""
    path = str(SAMPLES / "basics" / "mlp.mlir")
    chosen = "conv-to-gemm,fuse-gradients,tile,select-order{policy=only-interleaving},"
    chosen += "partition{policy=k}"
    module = parse_file(path)
    run_passes(module, "server-2c", chosen + ",confirm-program")
    found = decision(module)
    weighed = {
        "schedules": found["cycles"],
        "unsplit": found["unsplit_cycles"],
        "baseline": found["baseline_cycles"],
    }
    assert found["kept"] == min(weighed, key=lambda name: weighed[name])
    partitions = {
        op.attributes["sched.schedule"].partition.data  # type: ignore[attr-defined]
        for op in module.walk()
        if op.name == "grad.interleaved"
    }
    assert partitions == ({"k"} if found["kept"] == "schedules" else {"m"})
    final = cycles(compile_module(module, "server-2c", pass_pipeline="lower-to-npu"))
    assert final == weighed[found["kept"]]
