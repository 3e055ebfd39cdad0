"""confirm-program compares the whole program with the baseline's and keeps the faster."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipelines import dy_reads, programs, tiny_target

from igoc import pipeline
from igoc.api import compile_module, compile_text
from igoc.cost.model import item_estimates, plan_program
from igoc.cost.oracle import program_cycles, program_estimate, program_items
from igoc.cost.session import Session
from igoc.dialects.npu import stamp_target
from igoc.dialects.sched import from_attr
from igoc.dialects.views import TrainingLayers, declared_tensors
from igoc.frontend import parse_file, parse_text
from igoc.frontend.diagnostics import DiagnosticError
from igoc.isa.npufile import encode_program
from igoc.passes import confirm_program
from igoc.pipeline import PipelineError
from igoc.schedule.program import program_tensors
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


programs_on_tiny_targets = given(
    text=programs(),
    side=st.sampled_from([2, 4, 8]),
    spm_kib=st.integers(8, 64),
    cores=st.integers(1, 4),
)
"""One or two layers, on an array of ``side`` squared PEs with ``spm_kib`` KiB of SPM per core."""


@settings(max_examples=10, deadline=None)
@programs_on_tiny_targets
def test_what_it_compares_is_the_baseline_program(text, side, spm_kib, cores):
    """The baseline and all-interleaved cycles it weighs are those of the ``baseline`` and
    ``igo-interleave`` pipelines' programs, and ``igo`` ends as the fastest program it
    weighed: never slower than either, nor than ``igo-rearrange``."""
    target = tiny_target(side, spm_kib, cores, 2)
    baseline = cycles(compile_text(text, target, "baseline"))
    try:
        interleave = cycles(compile_text(text, target, "igo-interleave"))
    except DiagnosticError:  # no schedule of an op's only-interleaving order fits
        interleave = None
    module = parse_text(text)
    igo = cycles(compile_module(module, target, "igo"))
    found = decision(module)
    assert igo <= baseline
    if found.get("same_as_baseline"):
        assert igo == baseline
        return
    assert interleave is None or igo <= interleave
    assert igo <= cycles(compile_text(text, target, "igo-rearrange"))
    assert found["baseline_cycles"] == baseline
    weighed = {"schedules": found["cycles"], "baseline": baseline}
    for name in ("unsplit", "interleaved"):
        if f"{name}_cycles" in found:
            weighed[name] = found[f"{name}_cycles"]
    if "interleaved" in weighed:
        assert weighed["interleaved"] == interleave
    elif interleave is not None:  # it is one of the others
        assert interleave in weighed.values()
    assert igo == min(weighed.values()) == found["kept_cycles"]
    assert weighed[found["kept"]] == igo
    for name, earlier in found.get("same", {}).items():  # not weighed again, said so
        assert earlier in weighed and earlier != name
        if name == "baseline":  # its cycles are given all the same: those it is the same as
            assert found["baseline_cycles"] == weighed[earlier]
        else:
            assert f"{name}_cycles" not in found


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


def layers_as_scheduled(module, target: str):
    """The target, declared tensors and (layer, schedule) pairs of a scheduled module."""
    found = load_target(target)
    layers = TrainingLayers.of(module, found)
    schedules = [layers.schedule(index) for index in range(len(layers.descs))]
    return found, declared_tensors(module), list(zip(layers.descs, schedules, strict=True))


def test_a_program_over_the_limit_is_weighed_by_the_cost_model():
    """Over ``limit`` steps the three programs are planned and estimated, not simulated; the
    record gives the estimates, and the fastest by them is kept."""
    path = SAMPLES / "basics" / "mlp.mlir"
    plain = parse_file(str(path))
    run_passes(plain, "edge", BEFORE)
    target, declared, scheduled = layers_as_scheduled(plain, "edge")
    limited = parse_file(str(path))
    run_passes(limited, "edge", BEFORE + ",confirm-program{limit=1}")
    found = decision(limited)
    assert found["weighed_by"] == "cost model"
    assert found["cycles"] == round(program_estimate(target, declared, scheduled))
    assert found["cycles"] != program_cycles(target, declared, scheduled)  # not the simulator's
    weighed = {n: found[n] for n in found if n.endswith("cycles")}
    assert found["kept"] in ("schedules", "unsplit", "interleaved", "baseline")
    kept_key = "cycles" if found["kept"] == "schedules" else f"{found['kept']}_cycles"
    assert weighed[kept_key] == min(weighed.values())
    simulated = parse_file(str(path))
    run_passes(simulated, "edge", BEFORE + ",confirm-program")
    assert decision(simulated)["weighed_by"] == "simulator"
    assert decision(simulated)["cycles"] == program_cycles(target, declared, scheduled)


@settings(max_examples=10, deadline=None)
@programs_on_tiny_targets
def test_a_program_estimate_adds_up_the_lowering_estimates(text, side, spm_kib, cores):
    """The estimate of a whole program is the lowering's own per-item estimates, summed on
    one core; on several, each core's total is a lower bound and the sum over all cores an
    upper bound (between two barriers the slowest core counts)."""
    target = tiny_target(side, spm_kib, cores, 2)
    module = parse_text(text)
    stamp_target(module, target)
    pipeline.run(module, pipeline.parse_spec(BEFORE))
    layers = TrainingLayers.of(module, target)
    scheduled = [(d, layers.schedule(i)) for i, d in enumerate(layers.descs)]
    estimate = program_estimate(target, declared_tensors(module), scheduled)
    items = program_items(scheduled, target)
    lowered = plan_program(
        target, program_tensors(declared_tensors(module), items), [items] * cores
    )
    totals = [
        sum(e.cycles for e in item_estimates(plan, items, target, cores))
        for plan in lowered.core_plans
    ]
    if cores == 1:
        assert estimate == totals[0]
    assert max(totals) <= estimate * (1 + 1e-9)
    assert estimate <= sum(totals) * (1 + 1e-9)


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


def test_a_program_weighed_before_in_the_session_is_not_weighed_again(monkeypatch):
    """As igoc-bench compiles an input's pipelines in one session: after igo-rearrange,
    igo finds the baseline's, the all-interleaved and its own unsplit one (igo-rearrange's
    as scheduled) weighed, weighs only its own, and records and keeps what a compile of its
    own does."""
    text = (SAMPLES / "models" / "resnet50-b4.mlir").read_text()
    weighed: list[int] = []
    real = confirm_program.program_cycles

    def counted(*args, **kwargs):
        weighed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(confirm_program, "program_cycles", counted)
    alone = parse_text(text, "resnet50-b4.mlir")
    own = encode_program(compile_module(alone, "server", "igo"))
    assert len(weighed) == 4  # as scheduled, unsplit, all interleaved, the baseline's
    session = Session()
    compile_text(text, "server", "igo-rearrange", session=session)
    weighed.clear()
    shared = parse_text(text, "resnet50-b4.mlir")
    assert encode_program(compile_module(shared, "server", "igo", session=session)) == own
    assert len(weighed) == 1
    assert decision(shared) == decision(alone)


ONE_PIXEL = """
func.func @conv(%x: tensor<1x4x3x3xf16>, %w: tensor<4x4x3x3xf16>, %dy: tensor<1x4x1x1xf16>)
    -> (tensor<1x4x1x1xf16>, tensor<1x4x3x3xf16>, tensor<4x4x3x3xf16>) {
  %y = grad.conv2d %x, %w : (tensor<1x4x3x3xf16>, tensor<4x4x3x3xf16>) -> tensor<1x4x1x1xf16>
  %dx = grad.conv2d_dx %dy, %w : (tensor<1x4x1x1xf16>, tensor<4x4x3x3xf16>) -> tensor<1x4x3x3xf16>
  %dw = grad.conv2d_dw %x, %dy : (tensor<1x4x3x3xf16>, tensor<1x4x1x1xf16>) -> tensor<4x4x3x3xf16>
  func.return %y, %dx, %dw : tensor<1x4x1x1xf16>, tensor<1x4x3x3xf16>, tensor<4x4x3x3xf16>
}"""


def test_the_unsplit_program_reads_dy_no_more_than_the_baseline():
    """A 3x3 conv with one output pixel on a 2x2 array: ``partition`` splits its reduction in
    two on one core. Its unsplit program is ``select-order``'s decision, which keeps the dY
    rule; without ``select-order``'s record (a pipeline of one's own), the order retiled at
    the conventional partition would read dY twice where the baseline's schedule reads it
    once (and simulate as fast: the tie kept it), so that retiled schedule is not weighed
    either. Either way ``igo`` reads dY no more than ``baseline`` here (the dY rule sets aside
    only conventional schedules: an interleaved or split one may read dY more where it is
    faster)."""
    target = tiny_target(2, 8, 1, 2)
    baseline = compile_text(ONE_PIXEL, target, "baseline")
    module = parse_text(ONE_PIXEL)
    igo = compile_module(module, target, "igo")
    assert dy_reads(igo) == dy_reads(baseline) == {"dy": 8}
    unrecorded = parse_text(ONE_PIXEL)
    stamp_target(unrecorded, target)
    pipeline.run(unrecorded, pipeline.parse_spec(BEFORE))
    for op in unrecorded.walk():
        op.attributes.pop("sched.policy", None)
    program = compile_module(unrecorded, target, pass_pipeline="confirm-program,lower-to-npu")
    assert "unsplit_cycles" not in decision(unrecorded)
    assert dy_reads(program) == {"dy": 8}


def test_ops_whose_schedule_the_kept_program_changed_say_so():
    """NCF on server keeps the baseline's program: each op whose schedule that changed is
    marked (its select-order and partition records are of the schedule it came with); the
    others are not."""
    module = parse_file(str(SAMPLES / "models" / "ncf-b4.mlir"))
    run_passes(module, "server", BEFORE)
    before = {id(op): op.attributes.get("sched.schedule") for op in module.walk()}
    run_passes(module, "server", "confirm-program")
    assert decision(module)["kept"] == "baseline"
    marked = 0
    for op in module.walk():
        if "sched.schedule" not in op.attributes:
            continue
        changed = op.attributes["sched.schedule"] != before[id(op)]
        record = op.attributes.get("sched.replaced")
        assert (record is not None) == changed
        if changed:
            assert from_attr(record) == "by confirm-program: the baseline program's"
            marked += 1
    assert marked > 0


def test_a_network_whose_ops_each_keep_the_baseline_order_runs_interleaved():
    """NCF on edge on the paper's footing: the program as select-order and partition
    scheduled it (each op's choice faster where it was weighed) takes the baseline's time;
    the program with every op interleaved is faster as a whole, and igo-paper keeps it."""
    text = (SAMPLES / "models" / "ncf-b4.mlir").read_text()
    baseline = cycles(compile_text(text, "edge", "baseline-paper"))
    interleave = cycles(compile_text(text, "edge", "igo-interleave-paper"))
    module = parse_text(text, "ncf-b4.mlir")
    igo = cycles(compile_module(module, "edge", "igo-paper"))
    found = decision(module)
    assert found["cycles"] == found["baseline_cycles"] == baseline
    assert found["kept"] == "interleaved"
    assert igo == interleave < baseline
