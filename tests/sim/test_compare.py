"""``--check``'s comparison (``igoc.sim.compare``): a chunk at a time, a tensor at a time."""

from __future__ import annotations

import functools
import math
import pathlib
import statistics
import threading
from concurrent.futures import CancelledError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.api import compile_file
from igoc.isa.instructions import DType
from igoc.isa.numerics import round_to
from igoc.sim import SimError, compare, simulate
from igoc.sim.compare import StreamingCheck, check_outputs, generate_inputs
from igoc.sim.functional import first_reads
from igoc.sim.inputs import Drawing, Draws, cancel_draws
from igoc.sim.prepare import prepare


@settings(max_examples=150)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=40),
    st.integers(1, 9),
    st.data(),
)
def test_chunked_errors_equal_the_whole_arrays(values, chunk, data):
    """The same maxima as over the whole arrays in float64, NaN and infinity included."""
    ref = np.array(values, np.float32)
    noise = data.draw(st.lists(st.floats(-1, 1, width=16), min_size=len(ref), max_size=len(ref)))
    with np.errstate(invalid="ignore", over="ignore"):
        got = (ref + np.array(noise, np.float32)).astype(np.float16)
    original = compare.CHUNK
    compare.CHUNK = chunk
    try:
        max_abs, scale = compare._max_errors(got, ref)
    finally:
        compare.CHUNK = original
    if not ref.size:
        assert (max_abs, scale) == (0.0, 0.0)
        return
    with np.errstate(invalid="ignore", over="ignore"):
        whole = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    np.testing.assert_array_equal(max_abs, whole)  # NaN equals NaN here
    np.testing.assert_array_equal(scale, float(np.max(np.abs(ref.astype(np.float64)))))


SAMPLES = sorted(
    (pathlib.Path(__file__).resolve().parents[2] / "samples" / "basics").glob("*.mlir")
)


@pytest.mark.parametrize("background", [False, True], ids=["here", "background"])
@pytest.mark.parametrize("target", ["edge", "server-2c"])
@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_checking_tensors_as_they_are_finished_gives_the_same_verdict(sample, target, background):
    """Each tensor handed over (and let go) when the program is done with it, compared at
    once or on the check's own thread: the verdict, entry for entry, of comparing
    everything at the end."""
    program = compile_file(str(sample), target, "igo")
    whole = simulate(program, functional=True, inputs=generate_inputs(program, seed=2))
    expected = check_outputs(
        program, generate_inputs(program, seed=2), whole.tensors, whole.unwritten
    )
    inputs = generate_inputs(program, seed=2)
    streaming = StreamingCheck(program, inputs, background)
    assert streaming.applies
    handed: list[str] = []

    def done(name, values, never):
        handed.append(name)
        streaming.done(name, values, never)

    result = simulate(program, functional=True, inputs=inputs, done=done)
    assert streaming.finish(result.tensors, result.unwritten) == expected
    assert handed and len(handed) == len(set(handed))
    assert not set(handed) & set(result.tensors)  # let go
    # every input is dropped once the program and the reference are done with it
    read = {name for op in program.reference for name in op["inputs"]}
    assert not set(inputs) & (read | set(handed))


def test_a_background_check_that_fails_raises_at_the_verdict_and_never_blocks():
    """A reference op that cannot be evaluated: the simulator hands every tensor over all
    the same (the check's thread keeps taking them, more than ``AHEAD_BYTES`` of them
    here), and ``finish`` raises the check's error."""
    program = compile_file(str(SAMPLES[0]), "edge", "igo")
    program.reference = [dict(op) for op in program.reference]
    program.reference[0]["op"] = "no_such_op"
    streaming = StreamingCheck(program, generate_inputs(program, seed=0), background=True)
    assert streaming.applies
    original = compare.AHEAD_BYTES
    compare.AHEAD_BYTES = 1  # every tensor waits for the one before it
    try:
        result = simulate(
            program, functional=True, inputs=generate_inputs(program, 0), done=streaming.done
        )
        with pytest.raises(SimError, match="cannot evaluate the reference"):
            streaming.finish(result.tensors, result.unwritten)
    finally:
        compare.AHEAD_BYTES = original
        streaming.close()
    assert not streaming._thread.is_alive()


def test_a_reference_that_overwrites_a_name_is_checked_at_the_end():
    """Two ops producing one name: only the last counts, as ``evaluate`` has it."""
    program = compile_file(str(SAMPLES[0]), "edge", "igo")
    first = dict(program.reference[0])
    program.reference = [first, *program.reference]
    assert not StreamingCheck(program, generate_inputs(program, seed=0)).applies


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 7), min_size=0, max_size=3),
    st.integers(1, 5000),
    st.sampled_from(list(DType)),
    st.integers(0, 2**32 - 1),
    st.integers(1, 300),
)
def test_seeded_values_are_the_whole_draw_rounded(shape, fan, dtype, seed, chunk):
    """Drawing a chunk at a time gives the bits of one whole draw: each element the normal
    quantile its 16 random bits pick, divided and rounded."""
    shape = tuple(shape) + (fan % 97 + 1,)
    count = math.prod(shape)
    words = np.random.default_rng([seed, 5]).bit_generator.random_raw((count + 3) // 4)
    picks = [(int(w) >> (16 * j)) & 0xFFFF for w in words for j in range(4)][:count]
    inverse = statistics.NormalDist().inv_cdf
    normal = np.array([inverse((u + 0.5) / 65536) for u in picks], np.float32)
    expected = round_to((normal / np.float32(math.sqrt(fan))).reshape(shape), dtype)
    original = compare.GENERATE_CHUNK
    compare.GENERATE_CHUNK = chunk
    try:
        got = compare.seeded_values(np.random.default_rng([seed, 5]), shape, fan, dtype)
    finally:
        compare.GENERATE_CHUNK = original
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def test_seeded_values_are_standard_normal_values():
    """The levels are symmetric and increasing, and a large draw has the standard normal's
    mean, spread and share within one and two standard deviations."""
    levels = compare.normal_quantiles()
    assert levels.shape == (65536,) and np.all(np.diff(levels) > 0)
    assert np.array_equal(levels, -levels[::-1])
    assert 4.3 < levels[-1] < 4.4
    values = compare.seeded_values(np.random.default_rng(11), (1 << 20,), 1, DType.F32)
    assert abs(values.mean()) < 0.005
    assert abs(values.std() - 1.0) < 0.005
    assert abs(np.mean(np.abs(values) < 1.0) - 0.6827) < 0.003
    assert abs(np.mean(np.abs(values) < 2.0) - 0.9545) < 0.002
    scaled = compare.seeded_values(np.random.default_rng(11), (1 << 20,), 400, DType.F16)
    assert abs(scaled.astype(np.float32).std() - 1 / 20) < 0.0005


def test_inputs_drawn_side_by_side_are_the_inputs_drawn_one_by_one(monkeypatch):
    """Threads drawing tensors at once give every tensor the bits it gets alone."""
    program = compile_file(str(SAMPLES[0]), "edge", "igo")
    monkeypatch.setattr(compare, "GENERATE_THREADS", 1)
    alone = generate_inputs(program, seed=7)
    monkeypatch.setattr(compare, "GENERATE_THREADS", 4)
    monkeypatch.setattr(compare, "GENERATE_CHUNK", 8)  # small tensors go to threads too
    monkeypatch.setattr(compare.os, "cpu_count", lambda: 4)
    together = generate_inputs(program, seed=7)
    assert list(together) == list(alone) and len(alone) >= 2
    for name, values in alone.items():
        assert together[name].dtype == values.dtype and together[name].shape == values.shape
        assert together[name].tobytes() == values.tobytes(), name


@pytest.mark.parametrize("target", ["edge", "server-2c"])
def test_inputs_drawn_beside_the_run_give_the_run_and_check_of_inputs_drawn_first(target):
    """Drawings (``background=True``), started by the run in the order the program reads
    them and waited for when first read: every tensor and the verdict bit for bit as with
    the arrays drawn before the run; a drawing asked for with no run is drawn then."""
    program = compile_file(str(SAMPLES[-1]), target, "igo")
    eager = generate_inputs(program, seed=5)
    expected = simulate(program, functional=True, inputs=eager)
    verdict = check_outputs(program, generate_inputs(program, seed=5), expected.tensors)
    drawings = generate_inputs(program, seed=5, background=True)
    assert set(drawings) == set(eager)
    assert all(isinstance(d, Drawing) and d.shape == eager[n].shape for n, d in drawings.items())
    streaming = StreamingCheck(program, drawings, background=True)
    result = simulate(program, functional=True, inputs=dict(drawings), done=streaming.done)
    assert streaming.finish(result.tensors, result.unwritten) == verdict
    untouched = simulate(
        program, functional=True, inputs=generate_inputs(program, seed=5, background=True)
    )
    assert untouched.tensors.keys() == expected.tensors.keys()
    for name, values in expected.tensors.items():
        assert untouched.tensors[name].tobytes() == values.tobytes(), name
    alone = generate_inputs(program, seed=5, background=True)  # no run starts these
    assert not next(iter(alone.values())).draws.started
    assert check_outputs(program, alone, expected.tensors) == verdict


def test_the_inputs_are_drawn_in_the_order_the_program_first_moves_them():
    """``first_reads`` against a walk over every core's instructions."""
    program = compile_file(str(SAMPLES[-1]), "server-2c", "igo")
    first: dict[int, int] = {}
    for stream in program.streams:
        for position, instr in enumerate(stream):
            tensor = getattr(instr, "tensor", None)
            if tensor is not None:
                first[tensor] = min(first.get(tensor, position), position)
    expected = sorted(first, key=lambda t: (first[t], t))
    assert first_reads(program, prepare(program)) == expected
    assert len(expected) >= 4


def test_cancelled_draws_are_not_drawn():
    """A run that fails stops its draws: those no thread has begun never run."""
    begun, gate, ran = threading.Event(), threading.Event(), []

    def draw(i):
        begun.set()
        gate.wait(10)
        ran.append(i)
        return np.zeros(1)

    draws = Draws(1)
    drawings = [Drawing(draws, (1,), functools.partial(draw, i)) for i in range(6)]
    draws.start(drawings)
    draws.start(drawings[::-1])  # only the first start counts
    assert begun.wait(10)
    cancel_draws(drawings)
    gate.set()
    assert drawings[0].result().shape == (1,)  # begun before the cancel
    with pytest.raises(CancelledError):
        drawings[-1].result()
    assert ran == [0]


def test_closing_a_background_check_drops_what_it_was_not_yet_handed():
    """``close`` (a failed or interrupted run) lets the tensor being compared finish and
    compares none of those still waiting."""
    program = compile_file(str(SAMPLES[0]), "edge", "igo")
    streaming = StreamingCheck(program, generate_inputs(program, seed=0), background=True)
    entered, release, compared = threading.Event(), threading.Event(), []

    def slow(name, array, never):
        compared.append(name)
        entered.set()
        release.wait(10)

    streaming._done = slow
    for name in ("a", "b", "c"):
        streaming.done(name, np.zeros(4), 0)
    assert entered.wait(10)
    threading.Timer(0.2, release.set).start()
    streaming.close()
    assert compared == ["a"] and not streaming._thread.is_alive()
