"""The SPM hazards that ``igoc.sim.hazards`` leaves to the run: those further back.

A queue's instructions, in program order (positions ``0, 1, ...``), with the SPM ranges
each touches (one *part* per operand kind: a DMA's block; a matmul's A, B and C) and the
time the timing loop records for each (``times``), never decreasing along the queue. A
query asks for the latest time of the queue's instructions up to position ``p`` with a
range, among some of the parts, that meets one of the asking instruction's ranges, and
says below which time its answer cannot matter (``limit``: the time the asking
instruction is already ready at). It walks the queue back from ``p``: the first
instruction that meets answers it, and the walk stops at the first one no later than
``limit``, since every older one is no later either. A walk longer than ``SCAN``
instructions moves the queue up to there into ``igoc.sim.runmap.RangeMap``\\ s (disjoint
runs of those instructions' times) and asks those, so a query costs at most that walk
plus the runs, and each instruction is moved once. Instructions no later than ``floor``
(``forget``: from then on no query compares its answer with an earlier time) can never
bind; they are left out of the runs (times never decrease along the queue: those are the
ones before a place found by bisection).

Answers are exact whenever they are later than ``limit``. A query of an empty range (a
store that reads no SPM) asks the runs, which answer it as they are cut.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from igoc.sim.runmap import RangeMap

SCAN = 16  # instructions a query walks before it asks the runs


class QueueLog:
    """A queue's instructions and their SPM ranges, asked about during the run.

    ``parts`` holds, per operand kind, the range id of each instruction; ``maps`` says
    which runs each part is moved into (a matmul's A and B into the runs of reads, C
    into those of writes).
    """

    __slots__ = ("parts", "maps", "times", "lo", "hi", "older", "older_max", "moved", "floor")

    def __init__(
        self,
        parts: Sequence[list[int]],
        maps: Sequence[int],
        times: list[float],
        lo: list[int],
        hi: list[int],
        segments: int,
    ) -> None:
        self.parts = parts  # per operand kind: range id per instruction
        self.maps = maps  # per part: its runs in ``older``
        self.times = times  # per instruction: its time (the timing loop writes it)
        self.lo, self.hi = lo, hi  # per range id: its elementary SPM segments
        self.older = [RangeMap(lo, hi, segments) for _ in range(max(maps) + 1)]
        self.older_max = 0.0  # the latest time in ``older``
        self.moved = 0  # instructions moved into ``older``
        self.floor = 0.0

    def max(self, p: int, ranges: tuple[int, ...], limit: float, parts: tuple[int, ...]) -> float:
        """The latest time of the instructions up to position ``p`` whose range in one of
        ``parts`` meets one of ``ranges``, or a time no later than ``limit`` when that one
        is no later."""
        lo, hi = self.lo, self.hi
        spans = [(lo[r], hi[r]) for r in ranges]
        if all(a < b for a, b in spans):
            times = self.times
            walked = [self.parts[k] for k in parts]
            low = max(p - SCAN, self.moved - 1)
            while p > low:
                t = times[p]
                if t <= limit:
                    return t
                for part in walked:
                    x = part[p]
                    x, y = lo[x], hi[x]
                    for a, b in spans:
                        if x < b and a < y:
                            return t
                p -= 1
        if p >= self.moved:
            self._move(p)
        if self.older_max <= limit:
            return self.older_max
        older = [self.older[m] for m in sorted({self.maps[k] for k in parts})]
        return max(runs.max(r) for runs in older for r in ranges)

    def _move(self, last: int) -> None:
        """Move the instructions up to position ``last`` into ``older`` (those that can bind)."""
        times = self.times
        paints = [
            (part, self.older[m].paint) for part, m in zip(self.parts, self.maps, strict=True)
        ]
        for p in range(bisect_right(times, self.floor, self.moved, last + 1), last + 1):
            t = times[p]
            for part, paint in paints:
                paint(part[p], t)
            self.older_max = t
        self.moved = last + 1

    def forget(self, floor: float) -> None:
        """No query will compare its answer with a time before ``floor`` any more."""
        self.floor = floor
        for runs in self.older:
            if len(runs.starts) > 1:
                runs.prune(floor)
