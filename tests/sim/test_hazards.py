"""SPM hazards: the static look-back and the queue logs against brute force, and the timing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import tiny_target, valid_programs
from test_runmap import Runs

from igoc.isa.instructions import Barrier, DType, Halt, Load, Matmul, Store
from igoc.isa.program import Program, layout_tensors, records_of
from igoc.sim import hazards, queuelog, simulate
from igoc.sim.channel import Channel
from igoc.sim.columns import Columns
from igoc.sim.hazards import newest_meeting
from igoc.sim.prepare import CoreCode, prepare
from igoc.sim.queuelog import QueueLog
from igoc.sim.timing import run_timing

F16, F32 = DType.F16, DType.F32


def meets(x: tuple[int, int], y: tuple[int, int]) -> bool:
    """The runs' rule: a shared segment, or an empty range strictly inside the other one."""
    (a, b), (c, d) = x, y
    if a == b and c == d:
        return a == c
    return a < d and c < b


spans = st.tuples(st.integers(0, 12), st.integers(0, 4)).map(lambda s: (s[0], s[0] + s[1]))


@st.composite
def streams(draw):
    """A program order of queries and painters, each with one to three ranges."""
    ways_q, ways_p = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    order = draw(st.lists(st.booleans(), max_size=40))  # True: a query
    return [
        (
            q,
            draw(
                st.lists(spans, min_size=ways_q if q else ways_p, max_size=ways_q if q else ways_p)
            ),
        )
        for q in order
    ]


@settings(max_examples=300)
@given(streams(), st.integers(0, 6))
def test_newest_meeting_is_the_newest_painter_whose_range_meets(stream, window):
    queries = [ranges for q, ranges in stream if q]
    painters = [ranges for q, ranges in stream if not q]
    before, seen = [], 0
    for q, _ in stream:
        if q:
            before.append(seen)
        else:
            seen += 1
    if not queries:
        return

    def columns(items):
        width = len(items[0]) if items else 1
        return [
            (
                np.array([x[j][0] for x in items], np.int32),
                np.array([x[j][1] for x in items], np.int32),
            )
            for j in range(width)
        ]

    p_spans = columns(painters) if painters else [(np.zeros(0, np.int32), np.zeros(0, np.int32))]
    got = newest_meeting(columns(queries), p_spans, np.array(before, np.int64), window)
    for ranges, count, v in zip(queries, before, got.tolist(), strict=True):
        empty = any(a == b for a, b in ranges)
        back = [
            d
            for d in range(1, count + 1)
            if any(meets(x, y) for x in ranges for y in painters[count - d])
        ]
        if not count:
            assert v == 0
        elif empty:
            assert v == -1  # asked of the runs
        elif back and back[0] <= window:
            assert v == back[0]
        elif count > window:
            assert v == -window - 1  # not in the window: the newest one before it
        else:
            assert v == 0  # the window saw every painter, none meets


SPANS = [(a, a + n) for a in range(0, 31) for n in range(0, 6)]
queue_programs = st.lists(
    st.tuples(
        st.sampled_from(["paint"] * 4 + ["query"] * 3 + ["forget"]),
        st.tuples(*[st.sampled_from(SPANS)] * 3),  # a range; a matmul's A, B and C
        st.sampled_from([0.0, 0.5, 1.0, 3.0]),  # a time step (0: equal times)
        st.sampled_from([0, 0, 1, 3]),  # the window looked at before a query
        st.sampled_from([0.0, 2.0, 6.0, 1000.0]),  # its limit: how far before the end
    ),
    max_size=80,
)


def check_log(steps, three: bool, empty_paints: bool) -> None:
    """A queue's log against runs painted in full with every instruction so far: a DMA
    queue's (one range each) or the compute queue's (A, B and C, asked about all three
    or C alone), asked about one range or three (a matmul's operands).

    As in the timing loop, a log painted with empty ranges (the store queue's, with zero
    stores) is not asked about empty ones.
    """
    lo = [a for a, _ in SPANS]
    hi = [b for _, b in SPANS]
    times: list[float] = []
    ids: list[tuple[int, ...]] = []  # per instruction: its range id per part
    parts: tuple[list[int], ...] = ([], [], []) if three else ([],)
    maps = (0, 0, 1) if three else (0,)
    log = QueueLog(parts, maps, times, lo, hi, 36)
    asks = [(0, 1, 2), (2,)] if three else [(0,)]
    time, floor = 0.0, 0.0
    for what, drawn, step, window, drop in steps:
        if what == "paint":
            entry = tuple(SPANS.index(x) for x in drawn[: len(parts)])
            if any(lo[x] == hi[x] for x in entry) and not empty_paints:
                continue
            time += step
            for part, x in zip(parts, entry, strict=True):
                part.append(x)
            ids.append(entry)
            times.append(time)
        elif what == "forget":
            floor = max(floor, time - drop - 4)
            log.forget(floor)
        else:
            asked = drawn[:1] if three or step < 1 else drawn  # one range, or three
            empty = any(a == b for a, b in asked)
            if empty and (empty_paints or len(asked) > 1):
                continue
            count = len(times)
            limit = max(floor, time - drop)
            runs = [Runs() for _ in range(max(maps) + 1)]  # every instruction so far, in order
            for entry, t in zip(ids, times, strict=True):
                for x, m in zip(entry, maps, strict=True):
                    runs[m].paint(*SPANS[x], t)
            for which in asks:
                want = max(runs[maps[k]].max(*span) for k in which for span in asked)
                # the window the static look-back saw: none of it meets the ranges
                back = 1 if empty else window + 1
                seen = [ids[count - d] for d in range(1, min(back, count + 1))]
                if any(meets(a, SPANS[e[k]]) for e in seen for k in which for a in asked):
                    continue
                if count < back:
                    continue
                got = log.max(count - back, tuple(SPANS.index(a) for a in asked), limit, which)
                if want > limit:
                    assert got == want
                else:
                    assert got <= limit


@settings(max_examples=400)
@given(queue_programs, st.sampled_from([1, 2, 16]), st.booleans(), st.booleans())
def test_queue_logs_answer_as_runs_painted_in_full(steps, scan, three, empty_paints):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(queuelog, "SCAN", scan)
        check_log(steps, three, empty_paints)


@st.composite
def overlapping_programs(draw):
    """Long streams whose SPM ranges overlap in part, zero stores, barriers, serial cores."""
    cores = draw(st.integers(1, 2))
    target = tiny_target(
        cores=cores,
        spm_bytes=4096,
        dram_latency_cycles=draw(st.sampled_from([0, 7, 100])),
        dram_bandwidth_gb_per_s=draw(st.sampled_from([3.0, 16.0])),
        overlap=draw(st.sampled_from(["double-buffered", "serial"])),
    )
    tensors = layout_tensors(
        [
            ("a", "input", F16, (16, 16)),
            ("p", "psum", F16, (16, 16)),
            ("c", "output", F32, (16, 16)),
        ]
    )
    small = st.integers(1, 6)
    streams = []
    barriers = draw(st.integers(0, 1))
    for _ in range(cores):
        stream = []
        for part in range(barriers + 1):
            for _ in range(draw(st.integers(0, 50))):
                what = draw(st.sampled_from(["load", "load", "store", "matmul", "zero"]))
                if what == "matmul":
                    m, k, n = draw(small), draw(small), draw(small)
                    # A and B (at most 6 x 6 fp16 elements each) end at or below C's
                    # first byte: a matmul whose C overlaps them is invalid.
                    a, b = (draw(st.integers(0, 988)) * 2 for _ in range(2))
                    c = 2048 + draw(st.integers(0, 900)) * 2
                    stream.append(Matmul(a, b, c, m, k, n, F16, F32, draw(st.booleans())))
                elif what == "zero":
                    stream.append(Store(1, 0, 2, 8, 16, 0, F16, zero=True))
                else:
                    rows, cols = draw(small), draw(small)
                    addr = draw(st.integers(0, 1950)) * 2
                    if what == "load":
                        stream.append(
                            Load(draw(st.sampled_from([0, 1])), 0, rows, cols, 16, addr, F16)
                        )
                    else:
                        acc = draw(st.booleans())
                        stream.append(
                            Store(draw(st.sampled_from([1, 2])), 16, rows, cols, 16, addr, F16, acc)
                        )
            if part < barriers:
                stream.append(Barrier(3, (1 << cores) - 1))
        streams.append(stream + [Halt()])
    return Program(target, tensors, [], streams)


def brute_force_hazards(program: Program, code: CoreCode) -> tuple[list[int], list[int]]:
    """``dep1``, ``dep2`` found by walking back over every earlier instruction.

    Ranges are compared as the simulator cuts them (``prepare``'s elementary segments:
    when every range is one segment, an empty one is the segment at its address).
    """
    c = Columns(records_of(program)[code.core])
    ids = {1: code.r1, 2: code.r2, 3: code.r3}

    def span(i, j):
        r = ids[j][i]
        return code.range_lo[r], code.range_hi[r]

    queue = np.where(
        c.is_load | c.is_gather, 0, np.where(c.is_mm, 1, np.where(c.is_store | c.is_scatter, 2, -1))
    )
    asks = {  # per queue: the other queues asked, its operands, the other's operands
        0: ((1, (1,), (1, 2, 3)), (2, (1,), (1,))),
        1: ((0, (1, 2, 3), (1,)), (2, (3,), (1,))),
        2: ((0, (1,), (1,)), (1, (1,), (3,))),
    }
    deps: list[list[int]] = [[0] * c.n, [0] * c.n]
    for i in range(c.n):
        q = int(queue[i])
        if q < 0:
            continue
        for slot, (other, mine, theirs) in enumerate(asks[q]):
            earlier = [j for j in range(i) if queue[j] == other]
            mine_spans = [span(i, x) for x in mine]
            if any(a == b for a, b in mine_spans):
                deps[slot][i] = -1 if earlier else 0  # ask the runs
                continue
            for back, j in enumerate(reversed(earlier), 1):
                if any(meets(s, span(j, y)) for s in mine_spans for y in theirs):
                    deps[slot][i] = back
                    break
    return deps[0], deps[1]


def timings(program: Program, codes) -> list[tuple]:
    runners = run_timing(
        codes,
        float(program.target.dram_latency_cycles),
        [t.shape for t in program.tensors],
        serial=program.target.overlap == "serial",
    )
    return [(list(r.start), list(r.end), r.stalls, r.busy, r.finish) for r in runners]


@settings(max_examples=60, deadline=None)
@given(overlapping_programs())
def test_timing_is_that_of_hazards_found_by_brute_force(program):
    """The look-back and the logs time a program as walking back over every earlier
    instruction would: with the window, without one (the logs answer everything), with
    the logs' walk cut short (the runs answer), and with brute-force hazards."""
    codes = prepare(program)
    expected = timings(program, codes)
    exact = [
        dataclasses.replace(
            code,
            **dict(zip(("dep1", "dep2"), brute_force_hazards(program, code), strict=True)),
        )
        for code in codes
    ]
    assert timings(program, exact) == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hazards, "WINDOW", 0)
        assert timings(program, prepare(program)) == expected
        patch.setattr(hazards, "WINDOW", 1)
        patch.setattr(queuelog, "SCAN", 1)
        assert timings(program, prepare(program)) == expected


def test_a_load_waits_for_a_matmul_reading_its_bytes_far_back():
    """The matmul reading the load's destination is further back than the window: the log
    finds it, while the matmuls in between (other buffers) do not bind."""
    target = tiny_target(dram_latency_cycles=0)
    tensors = layout_tensors([("a", "input", F16, (16, 16))])
    stream = [Load(0, 0, 4, 4, 16, 0, F16), Matmul(0, 64, 1024, 4, 4, 4, F16, F32)]
    stream += [
        Matmul(128, 192, 1024 + 64 * j, 1, 1, 1, F16, F32) for j in range(2 * hazards.WINDOW)
    ]
    stream += [Load(0, 0, 2, 2, 16, 16, F16), Halt()]  # rewrites bytes 16..24 of the first A
    program = Program(target, tensors, [], [stream])
    (code,) = prepare(program)
    assert code.dep1[len(stream) - 2] == -hazards.WINDOW - 1  # not in the window
    report = simulate(program).report
    exact = dataclasses.replace(
        code, **dict(zip(("dep1", "dep2"), brute_force_hazards(program, code), strict=True))
    )
    assert exact.dep1[len(stream) - 2] == 2 * hazards.WINDOW + 1
    assert timings(program, [exact]) == timings(program, [code])
    assert report["stalls"]["dependency"] > 0


@settings(max_examples=60, deadline=None)
@given(st.one_of(overlapping_programs(), valid_programs()))
def test_the_loop_books_the_channel_as_reserve_does(program):
    """The timing loop books the channel itself when it can; a recording channel (for a
    trace) takes every booking through ``Channel.reserve``: the times are the same."""
    codes = prepare(program)
    shapes = [t.shape for t in program.tensors]
    serial = program.target.overlap == "serial"
    latency = float(program.target.dram_latency_cycles)
    runs = []
    for channel in (Channel(), Channel(record=True)):
        runners = run_timing(codes, latency, shapes, channel, serial)
        runs.append([(list(r.start), list(r.end), r.stalls) for r in runners])
    assert runs[0] == runs[1]
