"""The SPM hazard maps: the range-id map answers as plain runs, and as one time per segment."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.sim.runmap import RangeMap


class Runs:
    """The reference: disjoint runs with a time each, every query walks the runs it meets."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.times: list[float] = []

    def max(self, a: int, b: int) -> float:
        starts = self.starts
        j = bisect_left(starts, a)
        if j < len(starts) and starts[j] == a and self.ends[j] == b:
            return self.times[j]
        j = j - 1 if j else 0
        latest = 0.0
        while j < len(starts) and starts[j] < b:
            if self.ends[j] > a and self.times[j] > latest:
                latest = self.times[j]
            j += 1
        return latest

    def paint(self, a: int, b: int, time: float) -> None:
        lo = bisect_right(self.ends, a)
        hi = bisect_left(self.starts, b, lo)
        new = []
        if lo < hi and self.starts[lo] < a:
            new.append((self.starts[lo], a, self.times[lo]))
        new.append((a, b, time))
        if lo < hi and self.ends[hi - 1] > b:
            new.append((b, self.ends[hi - 1], self.times[hi - 1]))
        self.starts[lo:hi] = [s for s, _, _ in new]
        self.ends[lo:hi] = [e for _, e, _ in new]
        self.times[lo:hi] = [t for _, _, t in new]


def read(m: RangeMap, r: int) -> float:
    """A query as the timing loop makes it: the remembered slot if alive, else ``max``."""
    x = m.cell[r]
    return m.times[x] if x >= 0 and m.alive[x] else m.max(r)


def write(m: RangeMap, r: int, time: float) -> None:
    """A paint as the timing loop makes it: an uncut run's slot directly, else ``paint``."""
    if m.alive[r]:
        m.times[r] = time
    else:
        m.paint(r, time)


def ranges(empty: bool):
    bounds = st.tuples(st.integers(0, 10), st.integers(0 if empty else 1, 5))  # crowded
    return st.lists(bounds.map(lambda x: (x[0], x[0] + x[1])), min_size=1, max_size=12)


def steps(count: int):
    step = st.tuples(
        st.sampled_from(["paint", "query", "query", "prune"]),
        st.integers(0, 1000),  # range, modulo their number
        st.sampled_from([0.0, 0.5, 1.0, 3.0]),  # time step (0: equal times)
    )
    return st.lists(step, min_size=1, max_size=count)


def check(spans: list[tuple[int, int]], program, empty_paints: bool, empty_queries: bool) -> None:
    ids = RangeMap([a for a, _ in spans], [b for _, b in spans], 64)
    runs, flat = Runs(), [0.0] * 64
    time, floor = 0.0, 0.0
    for what, pick, step in program:
        r = pick % len(spans)
        a, b = spans[r]
        if what == "paint":
            if a == b and not empty_paints:
                continue
            time += step
            write(ids, r, time)
            runs.paint(a, b, time)
            flat[a:b] = [time] * (b - a)
        elif what == "query":
            if a == b and not empty_queries:
                continue
            got, want = read(ids, r), runs.max(a, b)
            if want > floor:
                assert got == want
            else:  # pruned: anything up to the floor, which no caller can tell apart
                assert got <= floor
            if a < b and not empty_paints:
                assert want == max(flat[a:b])
        else:
            floor = max(floor, time - step)  # the querying queues' free times never decrease
            ids.prune(floor)


@settings(max_examples=400)
@given(ranges(empty=False), steps(80))
def test_range_ids_answer_as_the_runs_and_the_segments(spans, program):
    check(spans, program, empty_paints=False, empty_queries=True)


@settings(max_examples=300)
@given(ranges(empty=True), steps(80))
def test_empty_paints_are_seen_by_the_ranges_around_them(spans, program):
    """A store that reads no SPM paints an empty range: runs around it see it, as before."""
    check(spans, program, empty_paints=True, empty_queries=False)


@settings(max_examples=200)
@given(st.integers(1, 30), steps(80))
def test_one_segment_ranges(segments, program):
    """Buffers reused whole: every range is one segment, its own id."""
    check([(s, s + 1) for s in range(segments)], program, empty_paints=False, empty_queries=False)


def test_a_repaint_writes_its_slot_and_a_cut_kills_it():
    m = RangeMap([0, 2, 0], [4, 6, 6], 8)
    m.paint(0, 1.0)
    assert m.alive[0] and m.max(0) == 1.0
    write(m, 0, 2.0)  # the same range again: no new run
    assert m.starts == [0, 4] and read(m, 0) == 2.0
    m.paint(1, 3.0)  # cuts range 0's run: its slot is dead, a piece keeps its time
    assert not m.alive[0] and m.starts == [0, 2, 6] and m.times[m.slots[0]] == 2.0
    assert read(m, 0) == 3.0 and read(m, 2) == 3.0
    m.prune(2.5)  # a lone old run stays (merging it would not shorten anything)
    assert m.starts == [0, 2, 6] and read(m, 0) == 3.0
    m.prune(3.0)  # nothing here can bind any more: one unpainted run
    assert m.starts == [0] and m.slots == [len(m.times) - 1] and read(m, 2) == 0.0
    assert not m.alive[1] and m.alive[m.slots[0]]


def test_a_range_starting_with_a_shorter_run_sees_the_run_after_it():
    m = RangeMap([0, 0, 2, 1], [3, 2, 5, 3], 8)
    m.paint(1, 1.0)
    m.paint(2, 2.0)
    assert read(m, 0) == 2.0  # meets [0, 2) and [2, 5)
    assert read(m, 3) == 2.0  # starts inside the first run, ends inside the second
    m.prune(0.0)
    assert read(m, 0) == 2.0 and read(m, 3) == 2.0
