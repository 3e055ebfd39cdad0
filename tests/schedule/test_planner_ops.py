"""The planner over several ops: an input tile kept for a use beyond the next op, or not."""

from __future__ import annotations

from plankit import loads_of, step, tile_bytes

from igoc.schedule.planner import plan_schedule

# Op 0 reads x; op 1 reads other tensors; op 2 reads x again.
STEPS = [step("y0", "x", "w0"), step("y1", "a", "w1"), step("y2", "x", "w2")]


def test_a_tile_is_kept_for_any_later_use_without_ops():
    plan = plan_schedule(STEPS, tile_bytes, 1 << 20)
    assert loads_of(plan, "x") == 1


def test_with_ops_a_tile_is_kept_only_into_the_next_op():
    far = plan_schedule(STEPS, tile_bytes, 1 << 20, ops=[0, 1, 2])
    assert loads_of(far, "x") == 2
    near = plan_schedule(STEPS, tile_bytes, 1 << 20, ops=[0, 0, 1])
    assert loads_of(near, "x") == 1
