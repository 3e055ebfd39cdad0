"""A map from SPM ranges to the time their last toucher completes, kept as disjoint runs.

One map per queue and kind of access (the load queue's writes, the compute queue's
reads and writes, the store queue's reads). Coordinates are elementary segments
(``igoc.sim.prepare``), so hazards are exact to the byte. Because a queue runs in
order, the times painted into one map never decrease: painting a range simply
overwrites it, and the latest conflicting instruction of the queue is the one
whose run a query meets. A double-buffered stream keeps a handful of runs; a
program whose buffers move around keeps one run per live region, and a query
looks only at the runs it overlaps.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right


class RunMap:
    """Disjoint runs ``[start, end)`` with a time each; uncovered segments read as 0."""

    __slots__ = ("starts", "ends", "times")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.times: list[float] = []

    def max(self, a: int, b: int) -> float:
        """The latest time painted anywhere in ``[a, b)``."""
        starts = self.starts
        j = bisect_left(starts, a)
        if j < len(starts) and starts[j] == a and self.ends[j] == b:
            return self.times[j]
        ends, times = self.ends, self.times
        j = j - 1 if j else 0
        n = len(starts)
        latest = 0.0
        while j < n and starts[j] < b:
            if ends[j] > a and times[j] > latest:
                latest = times[j]
            j += 1
        return latest

    def paint(self, a: int, b: int, time: float) -> None:
        """Set ``[a, b)`` to ``time`` (never earlier than what it overwrites)."""
        starts, ends = self.starts, self.ends
        lo = bisect_right(ends, a)
        if lo < len(starts) and starts[lo] == a and ends[lo] == b:
            self.times[lo] = time
            return
        hi = bisect_left(starts, b, lo)
        times = self.times
        new_s, new_e, new_t = [], [], []
        if lo < hi and starts[lo] < a:
            new_s.append(starts[lo])
            new_e.append(a)
            new_t.append(times[lo])
        new_s.append(a)
        new_e.append(b)
        new_t.append(time)
        if lo < hi and ends[hi - 1] > b:
            new_s.append(b)
            new_e.append(ends[hi - 1])
            new_t.append(times[hi - 1])
        starts[lo:hi] = new_s
        ends[lo:hi] = new_e
        times[lo:hi] = new_t


class SegmentMap:
    """The same map when every range the core uses is exactly one elementary segment.

    (Buffers that are reused whole, as double buffering does.) Then a range is
    its first segment, and a map is a plain list indexed by it.
    """

    __slots__ = ("times",)

    def __init__(self, segments: int) -> None:
        self.times = [0.0] * segments

    def max(self, a: int, b: int) -> float:
        """The time painted at segment ``a`` (``b`` is always ``a + 1``)."""
        return self.times[a]

    def paint(self, a: int, b: int, time: float) -> None:
        """Set segment ``a`` to ``time``."""
        self.times[a] = time
