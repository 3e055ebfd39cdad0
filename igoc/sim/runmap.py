"""A map from SPM ranges to the time their last toucher completes, kept as disjoint runs.

One map per queue and kind of access (the load queue's writes, the compute queue's
reads and writes, the store queue's reads). Coordinates are elementary segments
(``igoc.sim.prepare``), so hazards are exact to the byte. Because a queue runs in
order, the times painted into one map never decrease: painting a range simply
overwrites it, and the latest conflicting instruction of the queue is the one
whose run a query meets. A double-buffered stream keeps a handful of runs; a
program whose buffers move around keeps one run per live region, and a query
looks only at the runs it overlaps.

A core's instructions touch a few thousand distinct ranges, over and over, so the
map is addressed by *range id* (``CoreCode.range_lo``, ``range_hi``) and remembers
what it found. Each run keeps its time in a *slot* of ``times``:

* the run that range ``r`` painted uses slot ``r``; while no other paint cuts into it
  (``alive[r]``), painting ``r`` again only writes ``times[r]``;
* a piece left of a cut run has a slot of its own past the range ids; its time never
  changes, and once the piece is cut its slot is dead for good;
* ``cell[r]`` remembers the slot of the one run that range ``r`` lies in; that answer
  holds as long as the slot is alive (only a paint that cuts the run can change what
  ``r`` meets, and a range slot that comes alive again covers the same range as before).
  A range that meets no run remembers the current *zero slot* (time 0), which every
  paint that adds a run kills and replaces. A range that meets several runs is looked up
  each time.

The timing loop reads ``times``, ``cell`` and ``alive`` itself for the common cases and
calls ``max`` and ``paint`` for the rest.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

UNKNOWN = -1


class RangeMap:
    """Disjoint runs ``[start, end)`` of segments with a time each; unpainted ones read 0.

    ``lo[r]``, ``hi[r]`` are the segments of range id ``r``. A paint's time is never
    earlier than any time it overwrites (one queue's completion times).
    """

    __slots__ = ("lo", "hi", "starts", "ends", "slots", "times", "alive", "cell", "zero")

    def __init__(self, lo: list[int], hi: list[int]) -> None:
        count = len(lo)
        self.lo, self.hi = lo, hi
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.slots: list[int] = []  # per run: where its time is kept
        self.times = [0.0] * (count + 1)
        self.alive = [False] * count + [True]  # per slot: its run is in the map, uncut
        self.cell = [UNKNOWN] * count  # remembered answer slot per range id
        self.zero = count  # the slot of ranges that meet no run, until a run is added

    def max(self, r: int) -> float:
        """The latest time painted anywhere in range ``r``."""
        c = self.cell[r]
        times = self.times
        if c >= 0 and self.alive[c]:
            return times[c]
        a, b = self.lo[r], self.hi[r]
        starts, ends, slots = self.starts, self.ends, self.slots
        j = bisect_left(starts, a)
        n = len(starts)
        if a < b:
            if j < n and starts[j] == a:
                if ends[j] >= b:  # inside the run that starts with it
                    self.cell[r] = c = slots[j]
                    return times[c]
            elif j and ends[j - 1] >= b:  # inside the run before
                self.cell[r] = c = slots[j - 1]
                return times[c]
            if (j == n or starts[j] >= b) and (not j or ends[j - 1] <= a):  # no run
                self.cell[r] = c = self.zero
                return 0.0
        elif j < n and starts[j] == a and ends[j] == a:  # an empty range at an empty run
            return times[slots[j]]
        j = j - 1 if j else 0
        latest = 0.0
        while j < n and starts[j] < b:
            if ends[j] > a and times[slots[j]] > latest:
                latest = times[slots[j]]
            j += 1
        return latest

    def paint(self, r: int, time: float) -> None:
        """Set range ``r`` to ``time`` (never earlier than what it overwrites)."""
        times, alive = self.times, self.alive
        if alive[r]:
            times[r] = time
            return
        a, b = self.lo[r], self.hi[r]
        starts, ends, slots = self.starts, self.ends, self.slots
        lo = bisect_right(ends, a)
        hi = bisect_left(starts, b, lo)
        for s in slots[lo:hi]:
            alive[s] = False
        new_s, new_e, new_c = [], [], []
        if lo < hi and starts[lo] < a:  # the piece of a cut run before the range
            new_s.append(starts[lo])
            new_e.append(a)
            new_c.append(len(times))
            times.append(times[slots[lo]])
            alive.append(True)
        new_s.append(a)
        new_e.append(b)
        new_c.append(r)
        if lo < hi and ends[hi - 1] > b:  # and after it
            new_s.append(b)
            new_e.append(ends[hi - 1])
            new_c.append(len(times))
            times.append(times[slots[hi - 1]])
            alive.append(True)
        starts[lo:hi] = new_s
        ends[lo:hi] = new_e
        slots[lo:hi] = new_c
        times[r] = time
        alive[r] = True
        alive[self.zero] = False  # ranges that met nothing may meet this run now
        self.zero = len(times)
        times.append(0.0)
        alive.append(True)

    def prune(self, floor: float) -> None:
        """Forget the runs whose time is at most ``floor``: they read as unpainted.

        Every query's answer is compared with a time that is never below ``floor``
        from now on (the querying queues are free no earlier), so a run that old can
        never be the one that binds: the answers that matter stay the same.
        """
        times, slots = self.times, self.slots
        keep = [j for j, s in enumerate(slots) if times[s] > floor]
        if len(keep) == len(slots):
            return
        alive = self.alive
        for s in slots:
            if times[s] <= floor:
                alive[s] = False
        starts, ends = self.starts, self.ends
        self.starts = [starts[j] for j in keep]
        self.ends = [ends[j] for j in keep]
        self.slots = [slots[j] for j in keep]
