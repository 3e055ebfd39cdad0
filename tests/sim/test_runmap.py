"""The SPM hazard maps: runs give the same answers as one time per segment."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.sim.runmap import RunMap

ops = st.lists(
    st.tuples(st.booleans(), st.integers(0, 30), st.integers(1, 12)), min_size=1, max_size=60
)


@settings(max_examples=300)
@given(ops)
def test_runs_equal_a_list_of_segments(steps):
    runs, flat = RunMap(), [0.0] * 64
    time = 0.0
    for paint, a, length in steps:
        b = a + length
        if paint:
            time += 1.0  # a queue's times never decrease
            runs.paint(a, b, time)
            flat[a:b] = [time] * length
        else:
            assert runs.max(a, b) == max(flat[a:b])
    # the runs stay disjoint and sorted
    pairs = list(zip(runs.starts, runs.ends, strict=True))
    assert all(s < e for s, e in pairs)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(pairs, pairs[1:], strict=False))
