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


class Channel:
    """Busy intervals of the DRAM channel, sorted and disjoint."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def reserve(self, ready: float, duration: float, floor: float) -> float:
        """Book ``duration`` cycles of free time from ``ready``; returns when the transfer ends.

        ``floor`` is a time before which no later call will ask: older intervals are
        dropped, so the calendar stays short.
        """
        starts, ends = self.starts, self.ends
        if not starts or ready >= ends[-1]:
            if starts and ready == ends[-1]:
                ends[-1] = ready + duration
            else:
                starts.append(ready)
                ends.append(ready + duration)
                if len(starts) > 64:
                    self._prune(floor)
            return ready + duration
        if duration <= 0:
            return ready
        j = bisect_right(ends, ready)
        if j == len(starts) - 1 and starts[j] <= ready:  # busy until the last end: queue behind
            ends[j] += duration
            return ends[j]
        t = ready
        left = duration
        pieces = []
        k = j
        while left > 0:
            if k < len(starts) and starts[k] <= t:
                t = max(t, ends[k])
                k += 1
                continue
            gap_end = starts[k] if k < len(starts) else float("inf")
            use = min(left, gap_end - t)
            pieces.append((t, t + use))
            left -= use
            t += use
        merged = sorted(list(zip(starts[j:k], ends[j:k], strict=True)) + pieces)
        new_s: list[float] = []
        new_e: list[float] = []
        for s, e in merged:
            if new_e and s <= new_e[-1]:
                new_e[-1] = max(new_e[-1], e)
            else:
                new_s.append(s)
                new_e.append(e)
        starts[j:k] = new_s
        ends[j:k] = new_e
        if len(starts) > 64:
            self._prune(floor)
        return t

    def _prune(self, floor: float) -> None:
        keep = bisect_right(self.ends, floor)
        if keep:
            del self.starts[:keep]
            del self.ends[:keep]
