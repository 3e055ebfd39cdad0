"""A map from SPM ranges to the time their last toucher completes, kept as disjoint runs.

The older instructions of a queue's log (``igoc.sim.queuelog``), per kind of access (the
load queue's writes, the compute queue's reads and writes, the store queue's reads),
once a query has to look further back than a short walk. Coordinates are elementary segments
(``igoc.sim.prepare``), so hazards are exact to the byte. Because a queue runs in
order, the times painted into one map never decrease: painting a range simply
overwrites it, and the latest conflicting instruction of the queue is the one
whose run a query meets. A double-buffered stream keeps a handful of runs; a
program whose buffers move around keeps one run per live region, and a query
looks only at the runs it overlaps.

A core's instructions touch a few thousand distinct ranges, over and over, so the
map is addressed by *range id* (``CoreCode.range_lo``, ``range_hi``) and remembers
what it found. Runs cover all ``segments`` (unpainted stretches are runs at time 0),
and each run keeps its time in a *slot* of ``times``:

* the run that range ``r`` painted uses slot ``r``; while no other paint cuts into it
  (``alive[r]``), painting ``r`` again only writes ``times[r]``;
* every other run (an unpainted stretch, a piece left of a cut run) has a slot of its
  own past the range ids; its time never changes, and once the run is cut its slot is
  dead for good;
* ``cell[r]`` remembers the slot of the one run that range ``r`` lies in; that answer
  holds as long as the slot is alive (only a paint that cuts the run can change what
  ``r`` meets, and a range slot that comes alive again covers the same range as before).
  A range that meets several runs is looked up each time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

UNKNOWN = -1


class RangeMap:
    """Disjoint runs ``[start, end)`` of segments with a time each; unpainted ones read 0.

    ``lo[r]``, ``hi[r]`` are the segments of range id ``r``, all within ``segments``. A
    paint's time is never earlier than any time it overwrites (one queue's completion
    times).
    """

    __slots__ = ("lo", "hi", "count", "starts", "ends", "slots", "times", "alive", "cell")

    def __init__(self, lo: list[int], hi: list[int], segments: int) -> None:
        count = len(lo)
        self.lo, self.hi, self.count = lo, hi, count
        self.starts = [0]  # one unpainted run over everything, in the first slot past the ids
        self.ends = [segments]
        self.slots = [count]  # per run: where its time is kept
        self.times = [0.0] * (count + 1)
        self.alive = [False] * count + [True]  # per slot: its run is in the map, uncut
        self.cell = [UNKNOWN] * count  # remembered answer slot per range id

    def max(self, r: int) -> float:
        """The latest time painted anywhere in range ``r``."""
        c = self.cell[r]
        times = self.times
        if c >= 0 and self.alive[c]:
            return times[c]
        a, b = self.lo[r], self.hi[r]
        starts, ends, slots = self.starts, self.ends, self.slots
        n = len(starts)
        if a < b:
            j = bisect_right(starts, a) - 1  # the run holding segment a
            if ends[j] >= b:  # and all of the range
                self.cell[r] = c = slots[j]
                return times[c]
        else:  # an empty range meets the run that holds it strictly
            j = bisect_left(starts, a)
            if j < n and starts[j] == a and ends[j] == a:  # or an empty run there
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
        if lo == hi:  # an empty range between two runs
            starts.insert(lo, a)
            ends.insert(lo, b)
            slots.insert(lo, r)
        else:
            cut = slots[lo:hi]
            for s in cut:
                alive[s] = False
            first, last = starts[lo], ends[hi - 1]
            if first < a:  # a piece of the first cut run stays before the range
                left = len(times)
                times.append(times[cut[0]])
                alive.append(True)
                if last > b:  # and of the last one after it
                    times.append(times[cut[-1]])
                    alive.append(True)
                    starts[lo:hi] = (first, a, b)
                    ends[lo:hi] = (a, b, last)
                    slots[lo:hi] = (left, r, left + 1)
                else:
                    starts[lo:hi] = (first, a)
                    ends[lo:hi] = (a, b)
                    slots[lo:hi] = (left, r)
            elif last > b:
                right = len(times)
                times.append(times[cut[-1]])
                alive.append(True)
                starts[lo:hi] = (a, b)
                ends[lo:hi] = (b, last)
                slots[lo:hi] = (r, right)
            else:
                starts[lo:hi] = (a,)
                ends[lo:hi] = (b,)
                slots[lo:hi] = (r,)
        times[r] = time
        alive[r] = True

    def prune(self, floor: float) -> None:
        """Merge neighbouring runs whose times are at most ``floor`` into unpainted ones.

        Every query's answer is compared with a time that is never below ``floor``
        from now on (the querying queues are free no earlier), so a run that old can
        never be the one that binds: the answers that matter stay the same.
        """
        starts, ends, slots = self.starts, self.ends, self.slots
        times, alive = self.times, self.alive
        n = len(starts)
        new_s, new_e, new_c = [], [], []
        j = 0
        merged = False
        while j < n:
            k = j
            while k < n and times[slots[k]] <= floor:
                k += 1
            if k - j >= 2:  # a stretch of old runs: one unpainted run
                for s in slots[j:k]:
                    alive[s] = False
                new_s.append(starts[j])
                new_e.append(ends[k - 1])
                new_c.append(len(times))
                times.append(0.0)
                alive.append(True)
                merged = True
                j = k
            else:
                new_s.append(starts[j])
                new_e.append(ends[j])
                new_c.append(slots[j])
                j += 1
        if merged:
            self.starts, self.ends, self.slots = new_s, new_e, new_c
