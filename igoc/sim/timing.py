"""The timing model: in-order issue into load, compute and store queues, per core.

Each core issues its stream in program order; an instruction goes to its queue
(load: ``Load``, ``Gather``; compute: ``Matmul``; store: ``Store``, ``Scatter``),
and each queue runs its instructions one at a time, in order. An instruction
*is ready* when its queue is free and every earlier instruction of its core that
it conflicts with has completed:

* SPM hazards on the exact byte ranges touched: read after write, write after
  read, write after write (between different queues; a queue is in order anyway);
* DRAM hazards between the core's own DMAs on a tensor it both reads and writes;
* fences: nothing starts before the last ``Barrier`` of the core has ended.

A matmul then runs for its cycles under the target's array timing (``igoc.isa.cycles``). A DMA books
``bytes / bytes_per_cycle`` cycles on the shared DRAM channel (``igoc.sim.channel``);
its queue is busy until the transfer ends, and its data is usable (it completes)
``dram_latency_cycles`` later, so back-to-back DMAs overlap their latency. A
store's SPM bytes may be overwritten once its transfer ends.

Because each queue is in order, the completion times of one queue's instructions
never decrease; so "the latest conflicting instruction of queue q" is the newest one
of q whose range meets the instruction's, and which one that is does not depend on
time: ``igoc.sim.hazards`` finds it before the run, looking a few instructions back
along each queue, and the loop reads its time (per queue: a load's data usable, a
matmul's end, a store's SPM bytes released). When it is further back, the queue's
log (``igoc.sim.queuelog``) is asked, and only when it can matter: an answer no later
than the instruction's ready time so far changes nothing, and every older instruction
of a queue ends no later than a newer one.

Stalls: the cycles between the moment an instruction's queue became free and
the moment it is ready are charged to the constraint that bound it: ``dma`` (an
earlier DMA), ``dependency`` (an earlier matmul), ``barrier`` (the fence); a DMA
that waits for the channel after it is ready charges the wait to
``dram_bandwidth``.

With the target's ``overlap = "serial"`` (an ablation, not a model of any machine igoc
targets), a core does one thing at a time: an instruction is ready no earlier than the
completion of the instruction before it in the core's stream (a DMA completes
``dram_latency_cycles`` after its transfer, so every DMA pays the latency), whatever the
queues and hazards would allow. The wait is charged to the kind of that instruction
(``dma`` or ``dependency``). ``"double-buffered"``, the default, is the model above.
On one core serial is never the faster; on several, which share the channel first come
first served, it can be: a DMA that overlap lets start early (a store that need not wait
for a load) may take the channel ahead of another core's DMA that its matmul waits for
(``tests/sim/programs/09_overlap_anomaly.s``: 72 cycles serial, 80 double-buffered).

Cores are interleaved by time: each runs until its next DMA would become ready
later than another core's pending one, so the channel sees transfers in time
order. Barriers meet when every core of the mask has arrived; barriers that can
never meet are a ``SimError``.
"""

from __future__ import annotations

import heapq
from array import array

from igoc.isa.encoding import Opcode
from igoc.sim.channel import CALENDAR, Channel
from igoc.sim.errors import SimError
from igoc.sim.footprints import footprints_overlap
from igoc.sim.prepare import CoreCode
from igoc.sim.queuelog import QueueLog

DMA, DEPENDENCY, BANDWIDTH, BARRIER = 0, 1, 2, 3
STALL_NAMES = ("dma", "dependency", "dram_bandwidth", "barrier")

# plain ints: the loop compares them with the record's opcode many times
_GATHER, _SCATTER = int(Opcode.GATHER), int(Opcode.SCATTER)
_MATMUL, _BARRIER = int(Opcode.MATMUL), int(Opcode.BARRIER)

# the parts of the queues' logs a query walks: a DMA's block; a matmul's A, B and C, or C
_BLOCK, _ABC, _C = (0,), (0, 1, 2), (2,)

PRUNE_EVERY = 2048  # instructions between prunings of the queues' logs (``forget``)

# results of CoreRunner.run
WAITING, AT_BARRIER, HALTED = 0, 1, 2


class CoreRunner:
    """The timing state of one core, advanced by ``run``."""

    def __init__(
        self, code: CoreCode, latency: float, shapes: list[tuple[int, ...]], serial: bool = False
    ) -> None:
        self.code = code
        self.latency = latency
        self.serial = serial  # one instruction at a time (``overlap = "serial"``)
        self.previous = DMA  # serial: the stall cause of waiting for the last instruction
        self.shapes = shapes
        n = len(code.kind)
        self.n = n
        self.pc = 0

        self.start = array("d", bytes(8 * n))
        self.end = array("d", bytes(8 * n))
        # per queue, in its order: a load's data usable, a matmul's end, a store's SPM
        # bytes released (``CoreCode.dep1``, ``dep2`` point at them)
        self.load_times = [0.0] * len(code.load_ranges)
        self.matmul_times = [0.0] * len(code.matmul_ranges[0])
        self.store_times = [0.0] * len(code.store_ranges)
        self.nl = self.nm = self.ns = 0  # instructions issued so far per queue
        lo, hi, segments = code.range_lo, code.range_hi, code.segments
        self.loads = QueueLog((code.load_ranges,), (0,), self.load_times, lo, hi, segments)
        # a matmul's A and B are reads, its C a write: kept apart once moved into runs
        mm = code.matmul_ranges
        self.matmuls = QueueLog(mm, (0, 0, 1), self.matmul_times, lo, hi, segments)
        self.stores = QueueLog((code.store_ranges,), (0,), self.store_times, lo, hi, segments)
        self.ql = self.qc = self.qs = 0.0
        self.prune_at = PRUNE_EVERY  # instruction index of the next pruning of the logs
        self.fence = 0.0
        self.done = 0.0
        self.stalls = [0.0, 0.0, 0.0, 0.0]
        self.busy = [0.0, 0.0, 0.0]  # load, compute, store
        self.dram_loads: dict[int, list[tuple[float, tuple]]] = {}
        self.dram_stores: dict[int, list[tuple[float, tuple]]] = {}
        self.finish = 0.0
        self.halted = False

    def floor(self) -> float:
        """No DMA of this core will ever become ready before this time."""
        return min(self.ql, self.qs)

    def _dram_wait(self, table: dict, tensor: int, footprint: tuple, since: float) -> float:
        """Latest completion of the other queue's DMAs on ``tensor`` overlapping ``footprint``."""
        entries = table.get(tensor)
        if not entries:
            return 0.0
        drop = 0
        while drop < len(entries) and entries[drop][0] <= since:
            drop += 1
        if drop:
            del entries[:drop]
        latest = 0.0
        shape = self.shapes[tensor]
        for when, other in entries:
            if when > latest and footprints_overlap(footprint, other, shape):
                latest = when
        return latest

    def run(self, channel: Channel, limit: float, other_floor: float) -> int:  # noqa: C901
        """Advance until the core halts, reaches a barrier, or has a DMA ready after ``limit``.

        Returns ``HALTED``, ``AT_BARRIER`` (``self.pc`` is the barrier; ``self.arrival``
        when the core got there) or ``WAITING`` (``self.pending`` is when the DMA at
        ``self.pc`` becomes ready).
        """
        code = self.code
        kind, dur = code.kind, code.dur
        r1, r2, r3 = code.r1, code.r2, code.r3
        track = code.track
        # SPM hazards (``igoc.sim.hazards``): ``dep1``, ``dep2`` say how far back along a
        # queue the newest instruction the instruction waits for is, ``j`` (the queue's
        # times, ``load_t``, ``matmul_t``, ``store_t`` hold its time), or, ``j < 0``, how
        # far back the newest one not looked at is: when that one ends after the
        # instruction is ready, older ones may bind too, and the queue's log
        # (``igoc.sim.queuelog``) is asked
        dep1, dep2 = code.dep1, code.dep2
        load_t, matmul_t, store_t = self.load_times, self.matmul_times, self.store_times
        nl, nm, ns = self.nl, self.nm, self.ns
        loads, matmuls, stores = self.loads, self.matmuls, self.stores
        ld_max, mm_max, st_max = loads.max, matmuls.max, stores.max
        ql, qc, qs = self.ql, self.qc, self.qs
        fence, done, lat = self.fence, self.done, self.latency
        serial, previous = self.serial, self.previous
        st_dma, st_dep, st_bw, st_bar = self.stalls
        busy_l, busy_c, busy_s = self.busy
        start_of, end_of = self.start, self.end
        reserve, fill = channel.reserve, channel.fill
        # ``Channel.reserve`` inline when the channel is free from ``ready`` on
        direct = channel.pieces is None
        ch_starts, ch_ends = channel.starts, channel.ends
        n = self.n
        i = self.pc
        prune_at = self.prune_at
        status = HALTED
        while i < n:
            k = kind[i]
            if k == _MATMUL:
                ready = qc
                cause = -1
                if fence > ready:
                    ready, cause = fence, BARRIER
                j = dep1[i]  # loads into A, B or C
                if j > 0:
                    t = load_t[nl - j]
                    if t > ready:
                        ready, cause = t, DMA
                elif j:
                    j += nl
                    if load_t[j] > ready:
                        t = ld_max(j, (r1[i], r2[i], r3[i]), ready, _BLOCK)
                        if t > ready:
                            ready, cause = t, DMA
                j = dep2[i]  # stores still reading C
                if j > 0:
                    t = store_t[ns - j]
                    if t > ready:
                        ready, cause = t, DMA
                elif j:
                    j += ns
                    if store_t[j] > ready:
                        t = st_max(j, (r3[i],), ready, _BLOCK)
                        if t > ready:
                            ready, cause = t, DMA
                if serial and done > ready:
                    ready, cause = done, previous
                if cause == DMA:
                    st_dma += ready - qc
                elif cause == DEPENDENCY:
                    st_dep += ready - qc
                elif cause == BARRIER:
                    st_bar += ready - qc
                d = dur[i]
                end = ready + d
                busy_c += d
                qc = end
                matmul_t[nm] = end
                nm += 1
                start_of[i] = ready
                end_of[i] = end
                if end > done:
                    done = end
                previous = DEPENDENCY
            elif k <= _GATHER:  # load, gather
                ready = ql
                cause = -1
                if fence > ready:
                    ready, cause = fence, BARRIER
                j = dep1[i]  # matmuls reading or writing the destination
                if j > 0:
                    t = matmul_t[nm - j]
                    if t > ready:
                        ready, cause = t, DEPENDENCY
                elif j:
                    j += nm
                    if matmul_t[j] > ready:
                        t = mm_max(j, (r1[i],), ready, _ABC)
                        if t > ready:
                            ready, cause = t, DEPENDENCY
                j = dep2[i]  # stores still reading it
                if j > 0:
                    t = store_t[ns - j]
                    if t > ready:
                        ready, cause = t, DMA
                elif j:
                    j += ns
                    if store_t[j] > ready:
                        t = st_max(j, (r1[i],), ready, _BLOCK)
                        if t > ready:
                            ready, cause = t, DMA
                tensor = track[i]
                if tensor >= 0:
                    t = self._dram_wait(self.dram_stores, tensor, code.footprints[i], ql)
                    if t > ready:
                        ready, cause = t, DMA
                if serial and done > ready:
                    ready, cause = done, previous
                if ready > limit:
                    self.pending = ready
                    status = WAITING
                    break
                if cause == DMA:
                    st_dma += ready - ql
                elif cause == DEPENDENCY:
                    st_dep += ready - ql
                elif cause == BARRIER:
                    st_bar += ready - ql
                d = dur[i]
                if direct and ch_ends and ready >= ch_ends[-1]:  # the channel is free: book it
                    xend = ready + d
                    if ready == ch_ends[-1]:
                        ch_ends[-1] = xend
                    else:
                        ch_starts.append(ready)
                        ch_ends.append(xend)
                        if len(ch_starts) > CALENDAR:
                            floor = ql if ql < qs else qs
                            channel.prune(floor if floor < other_floor else other_floor)
                elif direct and ch_ends and d > 0:  # busy after ready
                    if ch_starts[-1] <= ready:  # and from before it to its last end: queue
                        xend = ch_ends[-1] + d
                        ch_ends[-1] = xend
                    else:
                        floor = ql if ql < qs else qs
                        xend = fill(ready, d, floor if floor < other_floor else other_floor)
                else:
                    floor = ql if ql < qs else qs
                    xend = reserve(ready, d, floor if floor < other_floor else other_floor)
                st_bw += xend - ready - d  # not always 0.0 in floating point, even when free
                busy_l += d
                ql = xend
                end = xend + lat
                load_t[nl] = end
                nl += 1
                if i >= prune_at:  # now and then, forget what can no longer bind
                    prune_at = i + PRUNE_EVERY
                    loads.forget(qc if qc < qs else qs)
                    matmuls.forget(ql if ql < qs else qs)
                    stores.forget(ql if ql < qc else qc)
                if tensor >= 0:
                    self.dram_loads.setdefault(tensor, []).append((end, code.footprints[i]))
                start_of[i] = ready
                end_of[i] = end
                if end > done:
                    done = end
                previous = DMA
            elif k <= _SCATTER:  # store, scatter
                ready = qs
                cause = -1
                if fence > ready:
                    ready, cause = fence, BARRIER
                j = dep1[i]  # loads into the source
                if j > 0:
                    t = load_t[nl - j]
                    if t > ready:
                        ready, cause = t, DMA
                elif j:
                    j += nl
                    if load_t[j] > ready:
                        t = ld_max(j, (r1[i],), ready, _BLOCK)
                        if t > ready:
                            ready, cause = t, DMA
                j = dep2[i]  # matmuls writing it
                if j > 0:
                    t = matmul_t[nm - j]
                    if t > ready:
                        ready, cause = t, DEPENDENCY
                elif j:
                    j += nm
                    if matmul_t[j] > ready:
                        t = mm_max(j, (r1[i],), ready, _C)
                        if t > ready:
                            ready, cause = t, DEPENDENCY
                tensor = track[i]
                if tensor >= 0:
                    t = self._dram_wait(self.dram_loads, tensor, code.footprints[i], qs)
                    if t > ready:
                        ready, cause = t, DMA
                if serial and done > ready:
                    ready, cause = done, previous
                if ready > limit:
                    self.pending = ready
                    status = WAITING
                    break
                if cause == DMA:
                    st_dma += ready - qs
                elif cause == DEPENDENCY:
                    st_dep += ready - qs
                elif cause == BARRIER:
                    st_bar += ready - qs
                d = dur[i]
                if direct and ch_ends and ready >= ch_ends[-1]:  # the channel is free: book it
                    xend = ready + d
                    if ready == ch_ends[-1]:
                        ch_ends[-1] = xend
                    else:
                        ch_starts.append(ready)
                        ch_ends.append(xend)
                        if len(ch_starts) > CALENDAR:
                            floor = ql if ql < qs else qs
                            channel.prune(floor if floor < other_floor else other_floor)
                elif direct and ch_ends and d > 0:  # busy after ready
                    if ch_starts[-1] <= ready:  # and from before it to its last end: queue
                        xend = ch_ends[-1] + d
                        ch_ends[-1] = xend
                    else:
                        floor = ql if ql < qs else qs
                        xend = fill(ready, d, floor if floor < other_floor else other_floor)
                else:
                    floor = ql if ql < qs else qs
                    xend = reserve(ready, d, floor if floor < other_floor else other_floor)
                st_bw += xend - ready - d  # not always 0.0 in floating point, even when free
                busy_s += d
                qs = xend
                store_t[ns] = xend
                ns += 1
                end = xend + lat
                if tensor >= 0:
                    self.dram_stores.setdefault(tensor, []).append((end, code.footprints[i]))
                start_of[i] = ready
                end_of[i] = end
                if end > done:
                    done = end
                previous = DMA
            elif k == _BARRIER:
                self.arrival = done if done > fence else fence
                status = AT_BARRIER
                break
            else:  # halt
                break
            i += 1
        self.pc = i
        self.nl, self.nm, self.ns = nl, nm, ns
        self.prune_at = prune_at
        self.ql, self.qc, self.qs = ql, qc, qs
        self.fence, self.done = fence, done
        self.previous = previous
        self.stalls = [st_dma, st_dep, st_bw, st_bar]
        self.busy = [busy_l, busy_c, busy_s]
        if status == HALTED:
            finish = done if done > fence else fence
            if i < n:
                start_of[i] = finish
                end_of[i] = finish
            self.finish = finish
            self.halted = True
        return status

    def release(self, at: float) -> None:
        """The barrier at ``self.pc`` met at time ``at``: record it and move past it."""
        i = self.pc
        self.start[i] = self.arrival
        self.end[i] = at
        self.fence = at
        if at > self.done:
            self.done = at
        self.previous = BARRIER
        self.pc = i + 1


def run_timing(
    codes: list[CoreCode],
    latency: float,
    shapes: list[tuple[int, ...]],
    channel: Channel | None = None,
    serial: bool = False,
):
    """Time every core together; returns the runners (``SimError`` for dangling barriers).

    ``channel`` is the DRAM channel to use (one that records its pieces, for a trace);
    ``serial``: each core runs one instruction at a time (``overlap = "serial"``).
    """
    runners = [CoreRunner(c, latency, shapes, serial) for c in codes]
    channel = Channel() if channel is None else channel
    inf = float("inf")
    if len(runners) == 1:
        r = runners[0]
        while True:
            status = r.run(channel, inf, inf)
            if status != AT_BARRIER:
                break
            _check_barrier_alone(r)
            r.release(r.arrival)
        return runners
    heap = [(0.0, c) for c in range(len(runners))]
    pops = 0
    floor = 0.0
    waiting: dict[tuple[int, int], dict[int, int]] = {}  # (id, nth) -> core -> mask
    arrivals: dict[tuple[int, int], list[int]] = {}
    counts: dict[tuple[int, int], int] = {}  # (core, id) -> arrivals so far
    while heap:
        _, c = heapq.heappop(heap)
        r = runners[c]
        limit = heap[0][0] if heap else inf
        if pops % 64 == 0:  # a stale floor is still a lower bound: refresh it now and then
            floor = min((x.floor() for x in runners if not x.halted), default=inf)
        pops += 1
        status = r.run(channel, limit, floor)
        if status == WAITING:
            heapq.heappush(heap, (r.pending, c))
        elif status == AT_BARRIER:
            rec = r.code.records[r.pc]
            bid, mask = int(rec["f0"]), int(rec["f1"])
            nth = counts.get((c, bid), 0)
            counts[(c, bid)] = nth + 1
            key = (bid, nth)
            group = waiting.setdefault(key, {})
            if group and next(iter(group.values())) != mask:
                other = next(iter(group))
                raise SimError(
                    f"barrier {bid} with core mask {mask:#x}, but core {other} waits at it "
                    f"with mask {group[other]:#x}",
                    c,
                    r.pc,
                    "barrier",
                )
            group[c] = mask
            arrivals.setdefault(key, []).append(c)
            members = [x for x in range(len(runners)) if mask >> x & 1]
            if all(x in group for x in members):
                at = max(runners[x].arrival for x in members)
                for x in members:
                    runners[x].release(at)
                    heapq.heappush(heap, (at, x))
                del waiting[key]
    stuck = [r for r in runners if not r.halted]
    if stuck:
        raise _dangling(runners, stuck)
    return runners


def _check_barrier_alone(r: CoreRunner) -> None:
    mask = int(r.code.records[r.pc]["f1"])
    if mask != 1 << r.code.core:
        raise SimError(
            f"barrier waits for cores {mask:#x} that never come", r.code.core, r.pc, "barrier"
        )


def _dangling(runners: list[CoreRunner], stuck: list[CoreRunner]) -> SimError:
    first = stuck[0]
    parts = []
    for r in stuck:
        rec = r.code.records[r.pc]
        parts.append(f"core {r.code.core} waits at barrier {int(rec['f0'])} (instruction {r.pc})")
    for r in runners:
        if r.halted:
            parts.append(f"core {r.code.core} halted (instruction {r.pc})")
    rec = first.code.records[first.pc]
    return SimError(
        f"barrier {int(rec['f0'])} can never meet: " + "; ".join(parts),
        first.code.core,
        first.pc,
        "barrier",
    )
