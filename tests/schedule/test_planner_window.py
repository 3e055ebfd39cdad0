"""The planner's reuse window: an input tile is kept for its next use only if the tiles
touched in between fit the window (their LRU stack distance); accumulators are not
affected; without a window, Belady keeps everything that fits."""

from __future__ import annotations

from plankit import count, step, tile_bytes

from igoc.schedule.layer_schedule import window_bytes
from igoc.schedule.planner import ALIGN_BYTES, plan_schedule

# x is read at steps 0 and 2; step 1 touches an accumulator and two inputs in between.
STEPS = [step("y0", "x", "w0"), step("y1", "a", "w1"), step("y2", "x", "w2")]
ACC, INPUT = 8 * 8 * 4, 8 * 8 * 2
BETWEEN = ACC + 2 * INPUT  # the distinct bytes step 1 touches
CAPACITY = 1 << 20


def test_the_tile_sizes_are_aligned_already() -> None:
    assert ACC % ALIGN_BYTES == 0 and INPUT % ALIGN_BYTES == 0


def test_a_tile_within_the_window_is_kept() -> None:
    plan = plan_schedule(STEPS, tile_bytes, CAPACITY, window_bytes=BETWEEN)
    assert count(plan, "load", "x") == 1


def test_a_tile_beyond_the_window_is_loaded_again() -> None:
    plan = plan_schedule(STEPS, tile_bytes, CAPACITY, window_bytes=BETWEEN - 1)
    assert count(plan, "load", "x") == 2
    assert count(plan, "load", "a") == 1  # used once: nothing to keep


def test_without_a_window_belady_keeps_it() -> None:
    assert count(plan_schedule(STEPS, tile_bytes, CAPACITY), "load", "x") == 1


def test_consecutive_uses_never_leave_the_window() -> None:
    steps = [step("y0", "x", "w0"), step("y1", "x", "w1"), step("y2", "x", "w2")]
    plan = plan_schedule(steps, tile_bytes, CAPACITY, window_bytes=0)
    assert count(plan, "load", "x") == 1


def test_accumulators_are_left_to_belady() -> None:
    # y is accumulated at steps 0 and 2: the window does not make it a new tile (which
    # would lose its partial sum), and with room to spare it is never spilled.
    steps = [step("y", "x0", "w0"), step("z", "a", "w1"), step("y", "x1", "w2")]
    plan = plan_schedule(steps, tile_bytes, CAPACITY, window_bytes=0)
    assert count(plan, "reload", "y") == 0
    spills = sum(1 for actions in plan.after for a in actions if a.kind == "spill")
    assert spills == 0
    stores = [a for actions in plan.after for a in actions if a.residency.key[0].tensor == "y"]
    assert len(stores) == 1  # stored once, after its last use


def test_a_wider_window_never_loads_more() -> None:
    # x and w alternate with growing gaps: each widening of the window keeps more.
    steps = []
    for gap in range(1, 6):
        steps.append(step("y", "x", "w"))
        steps += [step(f"z{gap}{i}", f"a{gap}{i}", f"b{gap}{i}") for i in range(gap)]
    steps.append(step("y", "x", "w"))
    loads = [
        count(plan_schedule(steps, tile_bytes, CAPACITY, window_bytes=w), "load", "x")
        for w in range(0, 6 * BETWEEN, BETWEEN // 2)
    ]
    assert loads == sorted(loads, reverse=True)
    assert loads[0] == 6 and loads[-1] == 1


def test_under_no_reuse_every_step_loads_its_inputs_and_keeps_its_sums() -> None:
    # ``reuse=none`` (window_bytes(-1)): x, read at three steps in a row, loads each time;
    # within a step one load serves every matmul that reads it; y accumulates in SPM.
    steps = [
        step("y", "x", "w0"),
        step("y", "x", "w1"),
        (*step("y", "x", "w2"), *step("z", "x", "w2")),
    ]
    plan = plan_schedule(steps, tile_bytes, CAPACITY, window_bytes=window_bytes("none", CAPACITY))
    assert count(plan, "load", "x") == 3 and count(plan, "load", "w2") == 1
    assert count(plan, "reload", "y") == 0
    assert window_bytes("window", CAPACITY) == CAPACITY // 2
    assert window_bytes("belady", CAPACITY) is None
