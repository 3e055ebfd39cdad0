"""The planner's last resort before failing: giving up a tile of the step before (double
buffering lost for it), a tile that no later step uses before one that is used again."""

from __future__ import annotations

from plankit import loads_of, step, tile_bytes

from igoc.schedule.planner import plan_schedule

# Step 1 brings in 512 bytes while step 0's 512 stay protected, in 768 bytes of SPM: two of
# step 0's tiles must go. ``w0`` and ``y0`` are not used again; ``x`` is, at step 2.
STEPS = [step("y0", "x", "w0"), step("y1", "a", "w1"), step("y1", "x", "w1")]


def test_a_tile_of_the_step_before_that_is_not_used_again_goes_first():
    plan = plan_schedule(STEPS, tile_bytes, 768)
    assert loads_of(plan, "x") == 1  # kept for step 2: w0 and y0 were given up instead
    assert [a.kind for a in plan.after[0]] == ["store"]  # y0's final tile, stored once
    assert plan.peak_bytes == 768


def test_a_tile_used_again_goes_when_nothing_else_can():
    # Step 1 needs all 768 bytes: x goes too, and is loaded again for step 2.
    steps = [step("y0", "x", "w0"), step("y1", "a", "w1"), step("y1", "x", "w1")]
    plan = plan_schedule(steps, lambda key, is_acc: 256, 768)
    assert loads_of(plan, "x") == 2
