"""The DRAM channel calendar: every transfer gets exactly its time, never before it is ready."""

from __future__ import annotations

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
