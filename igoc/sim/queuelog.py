"""The SPM hazards that ``igoc.sim.hazards`` leaves to the run: those further back.

A queue's instructions, in program order (positions ``0, 1, ...``), with the time the
timing loop records for each (``times``), never decreasing along the queue. A query
asks for the latest time of the queue's instructions up to position ``p`` whose SPM
range meets a range, and says below which time its answer cannot matter (``limit``:
the time the asking instruction is already ready at). It walks the queue back from
``p``: the first instruction that meets the range answers it, and the walk stops at the
first one no later than ``limit``, since every older one is no later either. A walk
longer than ``SCAN`` instructions moves the queue up to there into
``igoc.sim.runmap.RangeMap``\\ s (disjoint runs of those instructions' times) and asks
those, so a query costs at most that walk plus the runs, and each instruction is moved
once. Instructions no later than ``floor`` (``forget``: from then on no query compares
its answer with an earlier time) can never bind; they are left out of the runs (times
never decrease along the queue: those are the ones before a place found by bisection).

Answers are exact whenever they are later than ``limit``. A query of an empty range (a
store that reads no SPM) asks the runs, which answer it as they are cut.
"""

from __future__ import annotations

from bisect import bisect_right

from igoc.sim.runmap import RangeMap

SCAN = 16  # instructions a query walks before it asks the runs


class DmaLog:
    """The SPM ranges of a DMA queue's transfers (a load's destination, a store's source)."""

    __slots__ = ("ranges", "times", "lo", "hi", "older", "older_max", "moved", "floor")

    def __init__(
        self, ranges: list[int], times: list[float], lo: list[int], hi: list[int], segments: int
    ) -> None:
        self.ranges = ranges  # SPM range id per transfer
        self.times = times  # per transfer: its time (the timing loop writes it)
        self.lo, self.hi = lo, hi  # per range id: its elementary SPM segments
        self.older = RangeMap(lo, hi, segments)  # the transfers before ``moved``
        self.older_max = 0.0  # the latest time in ``older``
        self.moved = 0  # transfers moved into ``older``
        self.floor = 0.0

    def max(self, p: int, r: int, limit: float) -> float:
        """The latest time of the transfers up to position ``p`` whose range meets ``r``,
        or a time no later than ``limit`` when that one is no later."""
        lo, hi = self.lo, self.hi
        a, b = lo[r], hi[r]
        if a < b:
            times, ranges = self.times, self.ranges
            low = max(p - SCAN, self.moved - 1)
            while p > low:
                t = times[p]
                if t <= limit:
                    return t
                x = ranges[p]
                if lo[x] < b and a < hi[x]:
                    return t
                p -= 1
        if p >= self.moved:
            self._move(p)
        if self.older_max <= limit:
            return self.older_max
        return self.older.max(r)

    def max3(self, p: int, r1: int, r2: int, r3: int, limit: float) -> float:
        """``max`` of the three ranges (a matmul's operands) in one walk."""
        lo, hi = self.lo, self.hi
        a1, b1, a2, b2, a3, b3 = lo[r1], hi[r1], lo[r2], hi[r2], lo[r3], hi[r3]
        if a1 < b1 and a2 < b2 and a3 < b3:
            times, ranges = self.times, self.ranges
            low = max(p - SCAN, self.moved - 1)
            while p > low:
                t = times[p]
                if t <= limit:
                    return t
                x = ranges[p]
                x, y = lo[x], hi[x]
                if (x < b1 and a1 < y) or (x < b2 and a2 < y) or (x < b3 and a3 < y):
                    return t
                p -= 1
        if p >= self.moved:
            self._move(p)
        if self.older_max <= limit:
            return self.older_max
        older = self.older
        return max(older.max(r1), older.max(r2), older.max(r3))

    def _move(self, last: int) -> None:
        """Move the transfers up to position ``last`` into ``older`` (those that can bind)."""
        ranges, times = self.ranges, self.times
        paint = self.older.paint
        for p in range(bisect_right(times, self.floor, self.moved, last + 1), last + 1):
            t = times[p]
            paint(ranges[p], t)
            self.older_max = t
        self.moved = last + 1

    def forget(self, floor: float) -> None:
        """No query will compare its answer with a time before ``floor`` any more."""
        self.floor = floor
        if len(self.older.starts) > 1:
            self.older.prune(floor)


class ComputeLog:
    """The SPM ranges of the compute queue's matmuls: A and B read, C written."""

    __slots__ = (
        *("a", "b", "c", "times", "lo", "hi"),
        *("reads", "writes", "older_max", "moved", "floor"),
    )

    def __init__(
        self,
        abc: tuple[list[int], list[int], list[int]],
        times: list[float],
        lo: list[int],
        hi: list[int],
        segments: int,
    ) -> None:
        self.a, self.b, self.c = abc  # range ids of A, B and C per matmul
        self.times = times  # per matmul: when it ended (the timing loop writes it)
        self.lo, self.hi = lo, hi
        self.reads = RangeMap(lo, hi, segments)  # A and B of the matmuls before ``moved``
        self.writes = RangeMap(lo, hi, segments)  # their C
        self.older_max = 0.0  # the latest time in ``reads`` and ``writes``
        self.moved = 0
        self.floor = 0.0

    def max_any(self, p: int, r: int, limit: float) -> float:
        """The latest end of the matmuls up to position ``p`` that read or wrote a range
        meeting ``r`` (what a load into ``r`` waits for), or a time no later than
        ``limit`` when that one is no later."""
        lo, hi = self.lo, self.hi
        a, b = lo[r], hi[r]
        if a < b:
            times, ra, rb, rc = self.times, self.a, self.b, self.c
            low = max(p - SCAN, self.moved - 1)
            while p > low:
                t = times[p]
                if t <= limit:
                    return t
                x = ra[p]
                if lo[x] < b and a < hi[x]:
                    return t
                x = rb[p]
                if lo[x] < b and a < hi[x]:
                    return t
                x = rc[p]
                if lo[x] < b and a < hi[x]:
                    return t
                p -= 1
        if p >= self.moved:
            self._move(p)
        if self.older_max <= limit:
            return self.older_max
        return max(self.reads.max(r), self.writes.max(r))

    def max_written(self, p: int, r: int, limit: float) -> float:
        """The latest end of the matmuls up to position ``p`` that wrote a range meeting
        ``r`` (what a store of ``r`` waits for), or a time no later than ``limit`` when
        that one is no later."""
        lo, hi = self.lo, self.hi
        a, b = lo[r], hi[r]
        if a < b:
            times, rc = self.times, self.c
            low = max(p - SCAN, self.moved - 1)
            while p > low:
                t = times[p]
                if t <= limit:
                    return t
                x = rc[p]
                if lo[x] < b and a < hi[x]:
                    return t
                p -= 1
        if p >= self.moved:
            self._move(p)
        if self.older_max <= limit:
            return self.older_max
        return self.writes.max(r)

    def _move(self, last: int) -> None:
        """Move the matmuls up to position ``last`` into the runs (those that can bind)."""
        times = self.times
        ra, rb, rc = self.a, self.b, self.c
        read, write = self.reads.paint, self.writes.paint
        for p in range(bisect_right(times, self.floor, self.moved, last + 1), last + 1):
            t = times[p]
            read(ra[p], t)
            read(rb[p], t)
            write(rc[p], t)
            self.older_max = t
        self.moved = last + 1

    def forget(self, floor: float) -> None:
        """No query will compare its answer with a time before ``floor`` any more."""
        self.floor = floor
        for older in (self.reads, self.writes):
            if len(older.starts) > 1:
                older.prune(floor)
