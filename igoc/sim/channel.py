"""The DRAM channel that all cores share: a calendar of busy time.

A transfer of ``d`` cycles that becomes ready at time ``t`` takes the first ``d``
cycles of free channel time from ``t`` on, split across gaps if it must
(preemptive, fluid). Transfers are placed in the order the cores reach them in
time (the scheduler interleaves cores by time), so a transfer never waits
behind one that became ready later, and two cores streaming at once alternate
and each get about half the bandwidth.
"""

from __future__ import annotations

from bisect import bisect_right

CALENDAR = 64  # busy intervals kept before the ones no call can reach are dropped


class Channel:
    """Busy intervals of the DRAM channel, sorted and disjoint."""

    def __init__(self, record: bool = False) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        # With ``record``, every piece of channel time booked, ``(start, end)`` (for the trace).
        self.pieces: list[tuple[float, float]] | None = [] if record else None

    def reserve(self, ready: float, duration: float, floor: float) -> float:
        """Book ``duration`` cycles of free time from ``ready``; returns when the transfer ends.

        ``floor`` is a time before which no later call will ask: older intervals are
        dropped, so the calendar stays short.
        """
        starts, ends = self.starts, self.ends
        if self.pieces is not None and duration > 0:
            return self._reserve_recorded(ready, duration, floor)
        if not starts or ready >= ends[-1]:
            if starts and ready == ends[-1]:
                ends[-1] = ready + duration
            else:
                starts.append(ready)
                ends.append(ready + duration)
                if len(starts) > CALENDAR:
                    self.prune(floor)
            return ready + duration
        if duration <= 0:
            return ready
        return self.fill(ready, duration, floor)

    def fill(self, ready: float, duration: float, floor: float) -> float:
        """``reserve`` of a positive ``duration`` when the channel is busy after ``ready``
        (not recording: the timing loop calls it so, when its own bookings do not fit)."""
        starts, ends = self.starts, self.ends
        j = bisect_right(ends, ready)
        n = len(starts)
        if starts[j] <= ready:  # busy at ready
            if j == n - 1:  # until the last end: queue behind
                ends[j] += duration
                return ends[j]
            t = ends[j]
            gap = starts[j + 1] - t
            if duration <= gap:  # fits in the gap after this interval: extend it
                t += duration
                if starts[j + 1] <= t:  # up to the next one
                    ends[j] = max(t, ends[j + 1])
                    del starts[j + 1], ends[j + 1]
                else:
                    ends[j] = t
                if len(starts) > CALENDAR:
                    self.prune(floor)
                return t
        elif duration <= starts[j] - ready:  # fits in the gap before interval j
            t = ready + duration
            if starts[j] <= t:  # up to interval j
                starts[j] = ready
                ends[j] = max(t, ends[j])
            else:
                starts.insert(j, ready)
                ends.insert(j, t)
            if len(starts) > CALENDAR:
                self.prune(floor)
            return t
        # walk the busy intervals from j on, filling the gaps between them
        new_s: list[float] = []
        new_e: list[float] = []
        t, left, k = ready, duration, j
        while True:
            while k < n and starts[k] <= t:  # busy: keep the interval, go on after it
                end = ends[k]
                if new_e and starts[k] <= new_e[-1]:
                    if end > new_e[-1]:
                        new_e[-1] = end
                else:
                    new_s.append(starts[k])
                    new_e.append(end)
                if end > t:
                    t = end
                k += 1
            use = left  # the free time up to the next busy interval, or all that is left
            if k < n:
                gap = starts[k] - t
                if gap < left:
                    use = gap
            if new_e and new_e[-1] >= t:
                new_e[-1] = t + use
            else:
                new_s.append(t)
                new_e.append(t + use)
            left -= use
            t += use
            if left <= 0:
                break
        if k < n and starts[k] <= new_e[-1]:  # the last piece touches the next interval
            if ends[k] > new_e[-1]:
                new_e[-1] = ends[k]
            k += 1
        starts[j:k] = new_s
        ends[j:k] = new_e
        if len(starts) > CALENDAR:
            self.prune(floor)
        return t

    def _reserve_recorded(self, ready: float, duration: float, floor: float) -> float:
        """``reserve``, noting the pieces of free time it takes (the gaps it fills)."""
        assert self.pieces is not None
        pieces, self.pieces = self.pieces, None
        before = list(zip(self.starts, self.ends, strict=True))
        try:
            end = self.reserve(ready, duration, floor)
        finally:
            self.pieces = pieces
        t = ready
        for start, stop in before:  # busy before: the transfer runs in the gaps from `ready`
            if stop <= t:
                continue
            if start > t:
                take = min(start, end) - t
                if take > 0:
                    pieces.append((t, t + take))
            t = max(t, stop)
            if t >= end:
                break
        if t < end:
            pieces.append((t, end))
        return end

    def prune(self, floor: float) -> None:
        """Drop the busy intervals that end by ``floor`` (no later call asks before it)."""
        keep = bisect_right(self.ends, floor)
        if keep:
            del self.starts[:keep]
            del self.ends[:keep]
