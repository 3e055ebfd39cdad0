"""The DRAM channel calendar: every transfer gets exactly its time, never before it is ready."""

from __future__ import annotations

from bisect import bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.sim.channel import Channel

requests = st.lists(
    st.tuples(st.integers(0, 200).map(float), st.integers(0, 30).map(float)), max_size=60
)


@settings(max_examples=150)
@given(requests)
def test_bookings_are_disjoint_and_add_up(reqs):
    channel = Channel()
    for ready, duration in reqs:
        end = channel.reserve(ready, duration, 0.0)
        assert end >= ready + duration
    pairs = list(zip(channel.starts, channel.ends, strict=True))
    assert all(s < e or (s == e) for s, e in pairs)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(pairs, pairs[1:], strict=False))
    assert sum(e - s for s, e in pairs) == sum(d for _, d in reqs)


@settings(max_examples=100)
@given(requests)
def test_in_time_order_transfers_finish_in_order_and_never_idle_needlessly(reqs):
    channel = Channel()
    last_end = 0.0
    for ready, duration in sorted(reqs):
        end = channel.reserve(ready, duration, 0.0)
        if duration == 0:
            assert end == ready  # nothing to move: no need to wait for the channel
            continue
        assert end == max(ready, last_end) + duration  # first come, first served, no gaps
        last_end = end


def test_a_transfer_fills_an_earlier_gap_and_continues_after_busy_time():
    channel = Channel()
    assert channel.reserve(10.0, 5.0, 0.0) == 15.0  # busy [10, 15]
    assert channel.reserve(20.0, 5.0, 0.0) == 25.0  # busy [20, 25]
    # ready at 8 for 10 cycles: [8, 10] + [15, 20] + [25, 28]
    assert channel.reserve(8.0, 10.0, 0.0) == 28.0
    assert (channel.starts, channel.ends) == ([8.0], [28.0])


@settings(max_examples=150)
@given(requests)
def test_recorded_pieces_are_each_transfers_time_and_change_nothing(reqs):
    plain, recording = Channel(), Channel(record=True)
    assert recording.pieces is not None
    for ready, duration in reqs:
        before = len(recording.pieces)
        end = recording.reserve(ready, duration, 0.0)
        assert end == plain.reserve(ready, duration, 0.0)
        mine = recording.pieces[before:]
        assert sum(b - a for a, b in mine) == duration
        assert all(ready <= a < b <= end for a, b in mine)
    pieces = sorted(recording.pieces)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(pieces, pieces[1:], strict=False))
    assert (recording.starts, recording.ends) == (plain.starts, plain.ends)


class WalkedChannel(Channel):
    """The reference: every booking that is not simply at the end walks the calendar."""

    def reserve(self, ready: float, duration: float, floor: float) -> float:
        starts, ends = self.starts, self.ends
        if not starts or ready >= ends[-1]:
            if starts and ready == ends[-1]:
                ends[-1] = ready + duration
            else:
                starts.append(ready)
                ends.append(ready + duration)
                if len(starts) > 64:
                    self.prune(floor)
            return ready + duration
        if duration <= 0:
            return ready
        j = bisect_right(ends, ready)
        if j == len(starts) - 1 and starts[j] <= ready:
            ends[j] += duration
            return ends[j]
        n = len(starts)
        new_s: list[float] = []
        new_e: list[float] = []
        t, left, k = ready, duration, j
        while left > 0:
            if k < n and starts[k] <= t:
                if new_e and starts[k] <= new_e[-1]:
                    new_e[-1] = max(new_e[-1], ends[k])
                else:
                    new_s.append(starts[k])
                    new_e.append(ends[k])
                if ends[k] > t:
                    t = ends[k]
                k += 1
                continue
            use = min(left, (starts[k] if k < n else float("inf")) - t)
            if new_e and new_e[-1] >= t:
                new_e[-1] = t + use
            else:
                new_s.append(t)
                new_e.append(t + use)
            left -= use
            t += use
        if k < n and starts[k] <= new_e[-1]:
            new_e[-1] = max(new_e[-1], ends[k])
            k += 1
        starts[j:k] = new_s
        ends[j:k] = new_e
        if len(starts) > 64:
            self.prune(floor)
        return t


# whole cycles (transfers that end exactly where busy time starts) and fractions (rounding)
steps = st.tuples(
    st.one_of(st.integers(0, 8).map(float), st.floats(0, 8, allow_subnormal=False)),  # clock
    st.one_of(st.integers(0, 30).map(float), st.floats(0, 30, allow_subnormal=False)),  # back
    st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0, 1.0, 2.0, 2.5, 40.0]),  # duration
)


@settings(max_examples=60)
@given(st.lists(steps, min_size=100, max_size=200))
def test_the_quick_bookings_match_the_walk_bit_for_bit(reqs):
    """Gaps that a transfer fits in, and queueing behind: the same ends and the same calendar
    as walking it, in floating point too (and the same intervals dropped below the floor)."""
    quick, walked = Channel(), WalkedChannel()
    clock = floor = 0.0
    for advance, back, duration in reqs:
        clock += advance
        floor = max(floor, clock - 400.0)
        ready = max(floor, clock - back)  # cores reach their transfers roughly in time order
        assert quick.reserve(ready, duration, floor) == walked.reserve(ready, duration, floor)
        assert (quick.starts, quick.ends) == (walked.starts, walked.ends)
