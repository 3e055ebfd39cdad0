"""What a compile remembers to go faster gives what computing afresh gives.

The walk estimates a search remembers (keyed by ``core_walk_key``), the plans
``confirm-program`` hands to the lowering, and the planner's pause of the cyclic
garbage collector.
"""

from __future__ import annotations

import dataclasses
import gc
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.api import compile_file, compile_module, program_meta
from igoc.cost import session as session_module
from igoc.cost import store
from igoc.cost.model import estimate_schedule, item_estimates
from igoc.cost.session import Session, record_planned, take_planned
from igoc.dialects.sched import from_attr
from igoc.frontend import parse_file
from igoc.isa.instructions import DType
from igoc.isa.npufile import encode_program
from igoc.passes import lower_to_npu
from igoc.schedule.layer import Access, matmul_layer
from igoc.schedule.layer_schedule import LayerSchedule, Partition, core_steps, core_walk_key
from igoc.schedule.planner import PlanError, plan_schedule
from igoc.schedule.program import BarrierMark
from igoc.schedule.steps import PERMUTATIONS, Matmul, Tiling
from igoc.target import load_target

SAMPLES = pathlib.Path(__file__).resolve().parents[2] / "samples"
TENSORS = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}


def layer(m: int, k: int, n: int):
    return matmul_layer("l", m, k, n, DType.F16, TENSORS)


WHOLE = Partition()


def single(order: str, tiling: Tiling, partition: Partition = WHOLE) -> LayerSchedule:
    return LayerSchedule(("dx",), order, (tiling,), partition)


dims = st.integers(1, 40)
sizes = st.sampled_from([1, 4, 8, 16, 64])


@settings(max_examples=60, deadline=None)
@given(
    m=dims,
    k=dims,
    n=dims,
    tiles=st.tuples(sizes, sizes, sizes, sizes, sizes, sizes),
    orders=st.tuples(st.sampled_from(PERMUTATIONS), st.sampled_from(PERMUTATIONS)),
    cores=st.integers(1, 2),
)
def test_walks_with_equal_keys_are_equal(m, k, n, tiles, orders, cores):
    """Two schedules whose walks have one key walk the same steps (the key is what lets a
    search remember an estimate for the other schedule)."""
    gemm = [layer(m, k, n)]
    part = Partition("m", cores, cores) if cores > 1 else Partition()
    a = single(orders[0], Tiling(*tiles[:3]), part)
    b = single(orders[1], Tiling(*tiles[3:]), part)
    for core in range(cores):
        if core_walk_key(gemm, a, core) == core_walk_key(gemm, b, core):
            assert core_steps(gemm, a, core) == core_steps(gemm, b, core)
        else:
            assert core_steps(gemm, a, core) != core_steps(gemm, b, core)


def test_loop_orders_differing_in_a_single_tile_index_share_a_key():
    """With M in one tile, the loop orders that differ only in where i goes walk alike."""
    gemm = [layer(8, 64, 64)]
    t = Tiling(16, 16, 16)
    keys = {order: core_walk_key(gemm, single(order, t), 0) for order in PERMUTATIONS}
    assert keys["ijl"] == keys["jil"] == keys["jli"]
    assert keys["ilj"] == keys["lij"] == keys["lji"]
    assert keys["ijl"] != keys["ilj"]


@pytest.mark.parametrize("target_name", ["edge", "server-4c"])
def test_a_remembered_walk_estimate_is_the_fresh_one(target_name):
    """Every schedule of a layer estimated with the walks remembered across all of them
    (and asked twice) is estimated as without any memory."""
    target = load_target(target_name)
    gemm = [layer(96, 200, 136)]
    walks: dict = {}
    parts = [Partition(), Partition("m", target.cores, target.cores)]
    schedules = [
        single(order, Tiling(tm, tn, tk), part)
        for order in PERMUTATIONS
        for tm, tn, tk in ((96, 32, 32), (32, 136, 8), (16, 16, 200))
        for part in parts
    ]
    for _ in range(2):
        for schedule in schedules:
            fresh = estimate_schedule(gemm, schedule, target)
            remembered = estimate_schedule(gemm, schedule, target, None, None, walks)
            assert remembered == fresh
    assert 0 < len(walks) < len(schedules)  # some walks were shared


def test_a_walk_that_does_not_fit_fails_again_when_remembered():
    target = load_target("edge")
    huge = Tiling(4096, 4096, 4096)
    gemm = [layer(4096, 4096, 4096)]
    schedule = single("ijl", huge)
    walks: dict = {}
    with pytest.raises(PlanError) as first:
        estimate_schedule(gemm, schedule, target, None, None, walks)
    with pytest.raises(PlanError) as again:
        estimate_schedule(gemm, schedule, target, None, None, walks)
    assert again.value.needed_bytes == first.value.needed_bytes
    assert str(again.value) == str(first.value)


@pytest.mark.parametrize(
    ("sample", "target", "kept"),
    [
        ("basics/conv-stride2.mlir", "edge", "schedules"),
        ("models/ncf-b4.mlir", "server", "baseline"),
    ],
)
def test_the_lowering_takes_the_plans_confirm_program_kept(monkeypatch, sample, target, kept):
    """Where confirm-program weighs programs, lower-to-npu plans nothing itself, and the
    program is the one made when every plan is made afresh."""
    path = str(SAMPLES / sample)
    module = parse_file(path)
    fresh = encode_program(compile_module(module, target, "igo"))
    assert from_attr(module.attributes["sched.program"])["kept"] == kept
    taken: list = []

    def take(*args):
        found = take_planned(*args)
        taken.append(found)
        return found

    def refuse(*args):
        raise AssertionError("lower-to-npu planned a program confirm-program had planned")

    monkeypatch.setattr(lower_to_npu, "take_planned", take)
    monkeypatch.setattr(lower_to_npu, "plan_program", refuse)
    session = Session()
    assert encode_program(compile_file(path, target, "igo", session=session)) == fresh
    assert taken and taken[0] is not None
    assert session.planned == []  # let go once taken


def test_plans_of_another_program_are_not_taken():
    path = str(SAMPLES / "basics" / "train-step.mlir")
    session = Session()
    compile_file(path, "edge", "igo", session=session)
    lowered = session.lowered[1]  # type: ignore[index]
    record_planned(session, [lowered])
    other = [list(reversed(lowered.cores[0]))] * len(lowered.cores)
    assert take_planned(session, lowered.target, lowered.tensors, other) is None
    assert session.planned == []
    record_planned(session, [lowered])
    found = take_planned(session, lowered.target, lowered.tensors, lowered.cores)
    assert found is lowered
    assert session_module.take_planned(object(), lowered.target, [], []) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("target_name", ["edge", "server-2c"])
def test_remembered_item_estimates_are_the_fresh_ones(target_name):
    """The item estimates a core plan remembers (which the lowering reads again after
    confirm-program) are those of a fresh estimate, and other items are estimated afresh."""
    path = str(SAMPLES / "basics" / "train-step.mlir")
    session = Session()
    compile_file(path, target_name, "igo", session=session)
    lowered = session.lowered[1]  # type: ignore[index]
    target, items = lowered.target, lowered.cores[0]
    for core_plan in lowered.core_plans:
        remembered = item_estimates(core_plan, items, target, target.cores)
        assert item_estimates(core_plan, list(items), target, target.cores) is remembered
        core_plan.estimates.clear()
        assert item_estimates(core_plan, items, target, target.cores) == remembered
        alone = item_estimates(core_plan, items, target, 1)
        core_plan.estimates.clear()
        assert item_estimates(core_plan, items, target, 1) == alone
        other = [BarrierMark(0, (0,)) if i == 0 else item for i, item in enumerate(items)]
        fresh = dataclasses.replace(core_plan, estimates={})
        assert item_estimates(core_plan, other, target, 1) == item_estimates(
            fresh, other, target, 1
        )


def _tile(tensor: str, is_acc: bool = False):
    return (Access(tensor, "rows", DType.F16, 8, 8, 8), is_acc, 0, 0, 8, 8)


def _tile_bytes(key, is_acc: bool) -> int:
    return key[4] * key[5] * (4 if is_acc else 2)


@pytest.mark.parametrize("enabled", [True, False])
def test_planning_leaves_the_collector_as_it_found_it(enabled):
    """The collector is paused while planning and restored after, also when the plan fails."""
    steps = [(Matmul("y", _tile("y", True), _tile("a"), _tile("b"), 8, 8, 8),)]
    was = gc.isenabled()
    seen: list[bool] = []

    def tile_bytes(key, is_acc):
        seen.append(gc.isenabled())
        return _tile_bytes(key, is_acc)

    try:
        gc.enable() if enabled else gc.disable()
        plan_schedule(steps, tile_bytes, 1 << 20)
        assert gc.isenabled() == enabled
        with pytest.raises(PlanError):
            plan_schedule(steps, tile_bytes, 64)  # one step needs more than 64 bytes
        assert gc.isenabled() == enabled
        assert seen and not any(seen)
    finally:
        gc.enable() if was else gc.disable()


def test_a_compile_lets_its_estimates_go_at_the_lowering_unless_its_session_is_shared(
    monkeypatch,
):
    from igoc.api import lower_module

    monkeypatch.delenv(store.ENVIRONMENT, raising=False)  # decisions computed, not read

    path = str(SAMPLES / "basics" / "conv-stride2.mlir")
    own = lower_module(parse_file(path), "edge", "igo")
    assert own.single and own.search is not None
    assert not own.search._evaluated and not own.search.walks
    assert own.search._decisions  # decisions are kept
    shared = Session()
    lower_module(parse_file(path), "edge", "igo", session=shared)
    assert shared.search is not None and shared.search._evaluated and shared.search.walks


def test_emitting_lets_the_plans_go_and_writes_the_program(tmp_path):
    from igoc.api import lower_module
    from igoc.isa.npufile import read_npu

    path = str(SAMPLES / "basics" / "conv-stride2.mlir")
    expected = encode_program(compile_file(path, "edge", "igo"))
    module = parse_file(path)
    session = lower_module(module, "edge", "igo")
    assert session.lowered is not None
    out = tmp_path / "out.npu"
    meta = program_meta(module, "igo")
    lower_to_npu.emit_program(module, out, meta, session)
    assert session.lowered is None
    assert out.read_bytes() == expected
    again = tmp_path / "again.npu"
    lower_to_npu.emit_program(module, again, meta, session)  # planned from the IR
    assert again.read_bytes() == expected
    assert encode_program(read_npu(out)) == expected


FUSED = ("sequential", "only-interleaving", "dx-major", "dw-major", "fused-lij")


def fused(order: str, tiling: Tiling, partition: Partition = WHOLE) -> LayerSchedule:
    return LayerSchedule(("dx", "dw"), order, (tiling, tiling), partition)


small = st.integers(1, 24)
tilings = st.builds(Tiling, *[st.sampled_from([1, 4, 8, 16, 32])] * 3)


@settings(max_examples=200, deadline=None)
@given(
    m=small,
    k=small,
    n=small,
    tiling=tilings,
    family=st.sampled_from([FUSED, PERMUTATIONS]),
    picks=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    parts=st.lists(
        st.tuples(st.sampled_from(["m", "n", "k", None]), st.integers(1, 3)),
        min_size=2,
        max_size=2,
    ),
    cores=st.integers(1, 2),
    length=st.sampled_from([None, 1, 3, 5, 8]),
)
def test_walks_or_beginnings_with_equal_keys_are_equal(
    m, k, n, tiling, family, picks, parts, cores, length
):
    """Whole walks, and their first ``length`` steps, with one key are the same steps, for
    single and fused orders, zipped phases and partitions run one after another on a core."""
    gemm = [layer(m, k, n)]
    schedules = []
    for pick, (dim, count) in zip(picks, parts, strict=True):
        part = Partition(dim, count * cores, cores) if dim else WHOLE
        make = single if family is PERMUTATIONS else fused
        schedules.append(make(family[pick % len(family)], tiling, part))
    a, b = schedules
    for core in range(cores):
        if core_walk_key(gemm, a, core, length) == core_walk_key(gemm, b, core, length):
            assert core_steps(gemm, a, core, length) == core_steps(gemm, b, core, length)


def test_walks_that_step_alike_share_a_key():
    """The three kinds of walks made differently that step alike: zipped phases that visit the
    same points, boxes of a partition that continue each other, and walks that begin alike."""
    gemm = [layer(64, 16, 48)]
    t = Tiling(8, 48, 16)
    # M walked alone: only-interleaving's two segments step like dx-major's one.
    assert core_walk_key(gemm, fused("only-interleaving", t), 0) == core_walk_key(
        gemm, fused("dx-major", t), 0
    )
    # M in two boxes one after the other on one core, M walked outermost: as unsplit.
    t = Tiling(8, 16, 8)
    halves = single("ijl", t, Partition("m", 2, 1))
    assert core_walk_key(gemm, halves, 0) == core_walk_key(gemm, single("ijl", t), 0)
    # Not when M is walked inside N.
    inner = single("jil", t, Partition("m", 2, 1))
    assert core_walk_key(gemm, inner, 0) != core_walk_key(gemm, single("jil", t), 0)
    # The first 12 steps of the M split by cores lie in its first half: as unsplit's.
    split = single("ijl", t, Partition("m", 2, 2))
    assert core_walk_key(gemm, split, 0, 12) == core_walk_key(gemm, single("ijl", t), 0, 12)
    assert core_walk_key(gemm, split, 0) != core_walk_key(gemm, single("ijl", t), 0)
    for schedule in (halves, split):
        assert core_steps(gemm, schedule, 0, 12) == core_steps(gemm, single("ijl", t), 0, 12)


def test_remembered_simulations_are_the_fresh_ones(monkeypatch):
    """A search's remembered simulated cycles are the simulator's, simulated once per layer,
    schedule and context; a layer that differs in any field (its tensor names too), or
    another context, is simulated afresh."""
    from igoc.cost import oracle
    from igoc.cost.search import Search
    from igoc.schedule.describe import LayerDesc

    names = {"X": "x", "W": "w", "dY": "dy", "dX": "dx", "dW": "dw"}
    shapes = {"X": (16, 24), "W": (24, 8), "dY": (16, 8), "dX": (16, 24), "dW": (24, 8)}
    desc = LayerDesc("l", "matmul", ("dx", "dw"), names, shapes)
    renamed = LayerDesc("l", "matmul", ("dx", "dw"), {**names, "dY": "g"}, shapes)
    target = load_target("edge")
    schedules = [fused(o, Tiling(8, 8, 8)) for o in ("dx-major", "only-interleaving")]
    calls: list = []

    def simulate(*args):
        calls.append(args)
        return real(*args)

    real = oracle.simulate_layer
    monkeypatch.setattr(oracle, "simulate_layer", simulate)
    search = Search(target, disk=False)
    context = (renamed, schedules[1])
    cases = [(d, s, c) for d in (desc, renamed) for s in schedules for c in (None, context)]
    first = [search.simulated(*case) for case in cases]
    assert len(calls) == len(cases)
    assert [search.under("analytic", "window").simulated(*case) for case in cases] == first
    assert len(calls) == len(cases)
    assert first == [real(d, s, target, c) for d, s, c in cases]


@settings(max_examples=60, deadline=None)
@given(
    m=small,
    k=small,
    n=small,
    tiling=tilings,
    order=st.sampled_from(FUSED),
    split=st.tuples(st.sampled_from(["m", "n", "k", None]), st.integers(1, 3)),
    partial=st.booleans(),
    psum=st.sampled_from([2, 4]),
)
def test_final_store_bytes_are_the_planned_final_stores(
    m, k, n, tiling, order, split, partial, psum
):
    """The final stores counted without planning are those of the walk's plan: per tensor,
    the bytes read and written by its ``store`` and ``store_acc`` movements, and how many."""
    from igoc.cost.model import final_store_bytes
    from igoc.schedule.emit import EmitContext, action_bytes, psum_dtype
    from igoc.target.target import target_from_dict

    target = target_from_dict({**load_target("edge").__dict__, "psum_bytes": psum})
    gemm = [layer(m, k, n)]
    dim, parts = split
    schedule = fused(order, tiling, Partition(dim, parts, 1) if dim else WHOLE)
    outputs = {"dx", "dw"} if partial else set()
    ctx = EmitContext.of(target, 0)
    assert ctx.psum_dtype == psum_dtype(target)
    steps = core_steps(gemm, schedule, 0)
    plan = plan_schedule(steps, ctx.tile_bytes, 1 << 30, lambda t: t in outputs)
    planned: dict[str, list[int]] = {}
    for actions in plan.after:
        for action in actions:
            if action.kind in ("store", "store_acc"):
                name, read, write = action_bytes(action, ctx)
                entry = planned.setdefault(name, [0, 0, 0])
                entry[0] += read
                entry[1] += write
                entry[2] += 1
    assert final_store_bytes(gemm, schedule, 0, ctx, outputs) == planned


@pytest.mark.parametrize("target_name", ["edge", "server-2c"])
def test_programs_planned_with_shared_layer_walks_are_the_fresh_ones(target_name):
    """Programs planned one after another with the steps of their common layers shared
    (as confirm-program weighs them) are planned and estimated as each planned alone, and
    a program planned again walks the very steps of the first."""
    from igoc.cost.decide import baseline_schedule
    from igoc.cost.oracle import program_estimate
    from igoc.cost.search import Search
    from igoc.dialects.npu import stamp_target
    from igoc.dialects.views import TrainingLayers, declared_tensors
    from igoc.pipeline import build_pipeline, run, steps_until

    module = parse_file(str(SAMPLES / "basics" / "train-step.mlir"))
    target = load_target(target_name)
    stamp_target(module, target)
    run(module, steps_until(build_pipeline("igo"), "partitioned"))
    layers = TrainingLayers.of(module, target)
    current = [layers.schedule(i) for i in range(len(layers.descs))]
    baseline = [baseline_schedule(Search(target, disk=False), d) for d in layers.descs]
    declared = declared_tensors(module)
    walks: dict = {}
    programs = []
    for schedules in (current, baseline, current):
        pairs = list(zip(layers.descs, schedules, strict=True))
        shared: list = []
        alone: list = []
        assert program_estimate(target, declared, pairs, shared, walks) == program_estimate(
            target, declared, pairs, alone
        )
        assert encode_program(shared[0].program({})) == encode_program(alone[0].program({}))
        programs.append(shared[0])
    assert walks
    for first, again in zip(programs[0].core_plans, programs[2].core_plans, strict=True):
        for a, b in zip(first.plans, again.plans, strict=True):
            assert all(x is y for x, y in zip(a.steps, b.steps, strict=True))
