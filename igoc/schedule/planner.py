"""The SPM planner: which tiles are loaded, kept, evicted and written back, and where they live.

Input: the ordered steps of a schedule (``steps.py``). Because the compiler knows
the whole future sequence, it evicts optimally for uniform costs (Belady's rule:
the tile needed furthest in the future leaves first). The same planner serves
every schedule, baseline and interleaved alike, so the reuse each order makes
possible appears by itself and comparisons stay fair.

The algorithm, step by step (step ``s`` is the s-th point of the tile walk):

1. Tiles of step ``s`` that are not resident are brought in: an input tile is
   loaded; an accumulator tile is reloaded from its partial-sum buffer if it was
   spilled before, and otherwise starts from zero (its first matmul overwrites).
2. Room is made by evicting resident tiles that neither step ``s`` nor step
   ``s-1`` uses (those are protected: step ``s``'s loads run while step ``s-1``
   computes — double buffering), furthest next use first; only if that cannot
   make room are step ``s-1``'s tiles given up too. A dirty accumulator (a
   partial sum) is spilled to its partial-sum buffer when evicted; the spill is
   placed right after the tile's last use, so it has long finished when the
   space is needed.
3. A tile that no later step uses leaves SPM as soon as no step may still read
   it. After its last matmul in the schedule an accumulator is final and is stored:
   overwritten into its output, or — when the schedule covers only part of the
   reduction (a partition on one core of several) — accumulated into it.

A whole program (several ops in one walk) may be planned twice: as above, and
with ``ops`` given, so that an input tile whose next use lies beyond the next op
counts as dead at its last use and is loaded again there. A tile kept across a
network (a forward's input, read again by its layer's dW) saves one load, but it
can fragment the SPM of every op in between, whose schedules were chosen with at
most the op before them in SPM; which of the two plans is faster depends on the
network (``igoc.schedule.program`` keeps the one the cost model prefers).

Every tile occupies SPM from the step before its first use (its load overlaps
the previous step's compute) to its last use while resident. Its address is
chosen when it comes in: the next hole that fits after the last tile placed
(next fit), so that space is reused in the order it was left and loads can run
ahead of the compute. When the holes are too small although
the bytes would suffice, more tiles are evicted, in the same order; then the
tiles this step brought in are taken back and placed again after the others;
and last, once every other tile is gone, all of the step's tiles are taken back
and placed side by side from the start of the SPM, largest first (one that
stayed from an earlier step is loaded again). Only a step whose tiles exceed
the SPM by their bytes does not fit.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import NamedTuple

from igoc.collector import paused_collector
from igoc.schedule.steps import Matmul, TileKey

ALIGN_BYTES = 64
_TILE_BITS = 32  # a heap entry's low bits: its tile (fewer than 2**32 tiles in a walk)
_TILE_MASK = (1 << _TILE_BITS) - 1


class PlanError(Exception):
    """A schedule that cannot run in the given SPM; ``needed_bytes`` says how much it needs,
    ``step`` at which step of the walk (if known), ``item`` in which of a program's items (a
    layer, if known: ``igoc.schedule.program.plan_core`` says)."""

    def __init__(self, message: str, needed_bytes: int, step: int | None = None):
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.step = step
        self.item: object = None


@dataclass(slots=True)
class Residency:
    """One stay of a tile in SPM: from step ``start`` to step ``end`` (inclusive)."""

    key: TileKey
    is_acc: bool
    size_bytes: int
    start: int
    end: int
    address: int = -1


class Action(NamedTuple):
    """A data movement the program performs.

    ``kind``: ``load`` (input tile from its tensor), ``reload`` (partial sum from its
    buffer), ``spill`` (partial sum to its buffer), ``store`` (final tile to its
    output) or ``store_acc`` (final tile of a partial reduction, added into its output).
    """

    kind: str
    residency: Residency


@dataclass
class Plan:
    """The planner's decisions for one schedule."""

    steps: Sequence[tuple[Matmul, ...]]
    before: list[Sequence[Action]]  # per step: loads and reloads, before its matmuls
    after: list[Sequence[Action]]  # per step: final stores and spills, after its matmuls
    fresh: list[tuple[bool, ...]]  # per step, per matmul: True if it starts its acc at zero
    residency_of: list[tuple[tuple[Residency, Residency, Residency], ...]]  # per matmul: acc, a, b
    residencies: list[Residency] = field(default_factory=list)
    peak_bytes: int = 0
    budget_bytes: int = 0

    def window(self, first: int, end: int | None = None) -> Plan:
        """Steps ``first..end`` of the plan, as a plan of their own (for estimating a part)."""
        return Plan(
            self.steps[first:end],
            self.before[first:end],
            self.after[first:end],
            self.fresh[first:end],
            self.residency_of[first:end],
        )


def _round_up(value: int, align: int = ALIGN_BYTES) -> int:
    return (value + align - 1) // align * align


def _plan(
    steps: Sequence[tuple[Matmul, ...]],
    tile_bytes: Callable[[TileKey, bool], int],
    budget_bytes: int,
    partial: Callable[[str], bool],
    ops: Sequence[int] | None = None,
    window_bytes: int | None = None,
) -> Plan:
    """Belady residency planning with online next-fit placement."""
    # Intern the keys: everything below works on small integers. An input tile used again
    # only after a whole other op (``ops``: each step's op) counts as a new tile there.
    ident: dict[TileKey, int] = {}
    last_op: list[int] = []
    keys: list[TileKey] = []
    step_ids: list[list[int]] = []  # per step: its distinct tiles, inputs before accumulators
    mm_ids: list[list[tuple[int, int, int]]] = []  # per step, per matmul: acc, a, b
    uses: list[list[int]] = []
    # A step walk reuses one key object for each use of a tile, so looking keys up by
    # identity first spares hashing them (which hashes their access); ``steps`` keeps
    # them alive, so an identity is not reused meanwhile. Not with ``ops``, where one
    # key may stand for several tiles.
    by_identity: dict[int, int] = {}
    # With ``window_bytes``: an input tile counts as a new tile (to be loaded again) when
    # the distinct tiles touched since its last use take more than ``window_bytes`` (its
    # LRU stack distance, summed over the steps between by a Fenwick tree indexed by the
    # step of each tile's latest use).
    window = _StackDistance(len(steps)) if window_bytes is not None else None
    if ops is None and window is None:
        _intern(steps, ident, keys, step_ids, mm_ids, uses)
    else:
        for s, step in enumerate(steps):
            distinct: list[int] = []
            triples = []
            for mm in step:
                triple = []
                for key in (mm.acc, mm.a, mm.b):
                    if ops is None:
                        t = by_identity.get(id(key))
                        if t is None:
                            t = ident.get(key)
                            if t is None:
                                t = ident[key] = len(keys)
                                keys.append(key)
                                uses.append([])
                            by_identity[id(key)] = t
                    else:
                        t = ident.get(key)
                        if t is None or (not key[1] and ops[s] - last_op[t] > 1):
                            t = ident[key] = len(keys)
                            keys.append(key)
                            uses.append([])
                            last_op.append(0)
                        last_op[t] = ops[s]
                    if window is not None and window.far(t, s, key, window_bytes):
                        t = len(keys)
                        keys.append(key)
                        uses.append([])
                        ident[key] = t
                        if ops is None:
                            by_identity[id(key)] = t
                        else:
                            last_op.append(ops[s])
                    if window is not None:
                        window.touch(t, s, tile_bytes, key)
                    if not uses[t] or uses[t][-1] != s:
                        uses[t].append(s)
                    triple.append(t)
                triples.append(tuple(triple))
                for t in (triple[1], triple[2], triple[0]):
                    if t not in distinct:
                        distinct.append(t)
            step_ids.append(distinct)
            mm_ids.append(triples)
    # What interning needed goes now, and each step's tiles once it is planned: the plan
    # grows while they go (a long walk's peak memory is the plan and these together).
    del ident, by_identity, last_op, window
    count = len(keys)
    is_acc = [key[1] for key in keys]
    align = ALIGN_BYTES
    size = [(tile_bytes(key, key[1]) + align - 1) // align * align for key in keys]
    partial_acc = [key[1] and partial(key[0].tensor) for key in keys]
    pointer = [0] * count  # index into uses[t] of the next use after the current step
    resident: list[Residency | None] = [None] * count
    dirty = [False] * count  # accumulators holding a partial sum
    spilled = [False] * count  # accumulators with a partial sum in their buffer
    # Evictable tiles by next use, farthest first (then the lower tile): each entry is one
    # int, ``tile - (next use << _TILE_BITS)`` (ints compare faster than tuples). Entries go
    # stale when their tile is used again or leaves, and are skipped when popped.
    heap: list[int] = []
    free = _FreeList(budget_bytes)
    dying: dict[int, list[int]] = {}  # step -> tiles never used again, freed at that step
    used_bytes = 0
    peak = 0
    plan = Plan(steps, [], [], [], [])
    withdrawn: set[int] = set()  # ids of residencies taken back (fragmentation)
    allocate, release = free.allocate, free.release
    heappush, heappop = heapq.heappush, heapq.heappop
    new = tuple.__new__  # an Action made as its NamedTuple constructor makes it, one call less
    plan_before, plan_after = plan.before, plan.after
    plan_fresh, plan_residency_of = plan.fresh, plan.residency_of
    residencies = plan.residencies

    for s in range(len(steps)):
        before: list[Action] = []
        after: list[Action] = []
        for t in dying.pop(s, ()):
            res = resident[t]
            if res is not None:  # unless evicted already
                resident[t] = None
                used_bytes -= res.size_bytes
                release(res.address, res.size_bytes)
        ids = step_ids[s]
        step_ids[s] = None  # type: ignore[call-overload]
        pending = []
        arrives = s - 1 if s else 0  # one int for the tiles this step brings in
        for t in ids:
            res = resident[t]
            if res is None:
                pending.append(t)
            else:
                res.end = s  # protect it while this step's other tiles come in
        placed: list[int] = []  # tiles brought in for this step, in order
        takebacks = 0
        repacked = False
        while pending:
            t = pending.pop(0)
            need = size[t]
            held: list[int] = []
            address = -1
            # True while every hole is known to be smaller than ``need``: a search found
            # none and only releases followed, each of which grew one hole, whose size
            # ``release`` returns; only a hole that grew to ``need`` is worth a new search.
            too_small = False
            if used_bytes + need <= budget_bytes:
                address = allocate(need)
                too_small = address < 0
            while address < 0:  # room is made
                victim = -1
                while heap:
                    entry = heappop(heap)
                    v = entry & _TILE_MASK
                    res = resident[v]
                    if res is None:
                        continue  # stale: no longer resident
                    lst = uses[v]
                    p = pointer[v]
                    if p >= len(lst) or entry != v - (lst[p] << _TILE_BITS):
                        continue  # stale: used since
                    if res.end >= s - 1:
                        held.append(entry)  # protected: used by this or the previous step
                        continue
                    victim = v
                    break
                if victim < 0:
                    # Give up double buffering rather than fail: take a tile of step s-1
                    # (its replacement's load then waits for that step's compute). First one
                    # that no later step uses (the lowest; those have no heap entry), then
                    # the one used furthest ahead.
                    for u in sorted(dying.get(s + 1, ())):
                        if resident[u] is not None:
                            victim = u
                            break
                    else:
                        for h, entry in enumerate(held):
                            if resident[entry & _TILE_MASK].end < s:  # type: ignore[union-attr]
                                victim = entry & _TILE_MASK
                                del held[h]
                                break
                if (
                    victim < 0
                    and used_bytes + need <= budget_bytes
                    and placed
                    and takebacks < TAKEBACKS_PER_TILE * len(ids)
                ):
                    # Fragmented: the bytes are free but not in one hole. Take back a tile
                    # this step brought in and place it again after this one.
                    takebacks += 1
                    u = placed.pop()
                    res = resident[u]
                    resident[u] = None
                    used_bytes -= res.size_bytes  # type: ignore[union-attr]
                    release(res.address, res.size_bytes)  # type: ignore[union-attr]
                    _undo_arrival(u, res, before, spilled, dirty, withdrawn)  # type: ignore[arg-type]
                    pending.append(u)
                    address = allocate(need)
                    too_small = address < 0
                    continue
                if victim < 0 and used_bytes + need <= budget_bytes and not repacked:
                    # Still fragmented, and only this step's tiles are left in SPM (every
                    # other was evicted above): take them all back and place them again from
                    # the start of the SPM, largest first, so they lie side by side. A tile that
                    # stayed from an earlier step ends its stay at its last use and is loaded
                    # again (a partial sum spilled after that use and reloaded): bytes where
                    # the plan would fail. Once per step.
                    repacked = True
                    for u in ids:
                        res = resident[u]
                        if res is None or (is_acc[u] and not dirty[u] and u not in placed):
                            continue
                        resident[u] = None
                        used_bytes -= res.size_bytes
                        release(res.address, res.size_bytes)
                        if u in placed:  # brought in for this step: as if it had not been
                            _undo_arrival(u, res, before, spilled, dirty, withdrawn)
                        else:
                            res.end = uses[u][pointer[u] - 1]
                            if dirty[u]:
                                dirty[u], spilled[u] = False, True
                                _spill_after(plan_after, res)
                        pending.append(u)
                    placed.clear()
                    pending.append(t)
                    pending.sort(key=lambda u: -size[u])
                    free.cursor = 0
                    t = pending.pop(0)
                    need = size[t]
                    too_small = False
                    address = allocate(need) if used_bytes + need <= budget_bytes else -1
                    continue
                if victim < 0:
                    for entry in held:
                        heappush(heap, entry)
                    needed = used_bytes + need
                    if used_bytes + need <= budget_bytes:
                        needed = budget_bytes + need  # fragmented: ask for one more tile
                    raise PlanError(
                        f"step {s} needs {needed} bytes of SPM, the budget is {budget_bytes}",
                        needed,
                        s,
                    )
                res = resident[victim]
                resident[victim] = None
                used_bytes -= res.size_bytes
                grown = release(res.address, res.size_bytes)
                if dirty[victim]:
                    dirty[victim] = False
                    spilled[victim] = True
                    # Write it back right after its last use, not now: the store then runs
                    # long before this step's load needs the space (same bytes either way).
                    _spill_after(plan_after, res)
                if used_bytes + need <= budget_bytes and (grown >= need or not too_small):
                    address = allocate(need)
                    too_small = address < 0
            if held:
                for entry in held:
                    heappush(heap, entry)
            res = Residency(keys[t], is_acc[t], need, arrives, s, address)
            residencies.append(res)
            resident[t] = res
            placed.append(t)
            used_bytes += need
            if used_bytes > peak:
                peak = used_bytes
            if not is_acc[t]:
                before.append(new(Action, ("load", res)))
            elif spilled[t]:
                spilled[t] = False
                dirty[t] = True
                before.append(new(Action, ("reload", res)))
        freed_later = None  # the tiles this step uses last
        triples = mm_ids[s]
        mm_ids[s] = None  # type: ignore[call-overload]
        if len(triples) == 1:  # most steps: tuples, not lists, and the flag's one shared
            acc, a, b = triples[0]
            fresh = _FRESH if not dirty[acc] else _NOT_FRESH
            dirty[acc] = True
            res_of = ((resident[acc], resident[a], resident[b]),)
        else:
            flags = []
            stays = []
            for acc, a, b in triples:
                flags.append(not dirty[acc])
                dirty[acc] = True
                stays.append((resident[acc], resident[a], resident[b]))
            fresh, res_of = tuple(flags), tuple(stays)
        for t in ids:
            # ``uses[t]`` lists exactly the steps whose tiles include ``t``, and the pointer
            # stood at this one: the next use is the entry after it (none: this was the last).
            lst = uses[t]
            p = pointer[t] = pointer[t] + 1
            if p < len(lst):
                nxt = lst[p]
                # A tile the next step uses is protected until it is used again, and never
                # evicted meanwhile: it needs no entry until then.
                if nxt != s + 1:
                    heappush(heap, t - (nxt << _TILE_BITS))
                continue
            # Free it once no step may still read it (until then it is protected, and taken
            # only by the fallback above, from ``dying``: it needs no heap entry).
            if freed_later is None:
                freed_later = dying[s + 2] = [t]
            else:
                freed_later.append(t)
            if is_acc[t]:
                dirty[t] = False
                kind = "store_acc" if partial_acc[t] else "store"
                after.append(new(Action, (kind, resident[t])))
        plan_before.append(before or _NO_ACTIONS)  # a step that moves nothing: a shared ()
        plan_after.append(after or _NO_ACTIONS)
        plan_fresh.append(fresh)
        plan_residency_of.append(res_of)
    if withdrawn:
        plan.residencies = [r for r in plan.residencies if id(r) not in withdrawn]
    plan.peak_bytes = peak
    plan.budget_bytes = budget_bytes
    return plan


_FRESH = (True,)
_NOT_FRESH = (False,)
_NO_ACTIONS: tuple[Action, ...] = ()  # the actions of a step that moves nothing (shared)


def _spill_after(after: list[Sequence[Action]], res: Residency) -> None:
    """Spill a partial sum right after its last use, step ``res.end`` (planned already)."""
    actions = after[res.end]
    if not actions:  # (the shared empty tuple)
        actions = after[res.end] = []
    actions.append(Action("spill", res))  # type: ignore[union-attr]


def _undo_arrival(
    t: int,
    res: Residency,
    before: list[Action],
    spilled: list[bool],
    dirty: list[bool],
    withdrawn: set[int],
) -> None:
    """Undo bringing tile ``t`` in (as ``res``) for the step being planned: its load or reload
    leaves the step's actions (a reloaded partial sum is in its buffer again), and the stay is
    withdrawn from the plan."""
    action = next((a for a in before if a.residency is res), None)
    if action is not None:  # a fresh accumulator has none
        before.remove(action)
        if action.kind == "reload":
            spilled[t], dirty[t] = True, False
    withdrawn.add(id(res))


def _intern(
    steps: Sequence[tuple[Matmul, ...]],
    ident: dict[TileKey, int],
    keys: list[TileKey],
    step_ids: list[list[int]],
    mm_ids: list[list[tuple[int, int, int]]],
    uses: list[list[int]],
) -> None:
    """``_plan``'s interning of the keys when every key stands for one tile (no ``ops``, no
    window): the same numbering, looked up by identity first."""
    by_identity: dict[int, int] = {}
    known = by_identity.get
    find = ident.setdefault

    def miss(key: TileKey, s: int) -> int:
        # A key object not seen yet: its tile may be (an equal key made elsewhere). The key
        # is hashed once (which hashes its access), whether its tile is new or not.
        count = len(keys)
        t = find(key, count)
        if t == count:
            keys.append(key)
            uses.append([s])
        elif uses[t][-1] != s:
            uses[t].append(s)
        by_identity[id(key)] = t
        return t

    for s, step in enumerate(steps):
        distinct: list[int] = []
        triples = []
        for mm in step:
            # The three keys one after another, not in a loop: this is planning's hottest loop.
            key = mm[1]
            acc = known(id(key))
            if acc is None:
                acc = miss(key, s)
            else:
                u = uses[acc]
                if u[-1] != s:
                    u.append(s)
            key = mm[2]
            a = known(id(key))
            if a is None:
                a = miss(key, s)
            else:
                u = uses[a]
                if u[-1] != s:
                    u.append(s)
            key = mm[3]
            b = known(id(key))
            if b is None:
                b = miss(key, s)
            else:
                u = uses[b]
                if u[-1] != s:
                    u.append(s)
            triples.append((acc, a, b))
            if not distinct and a != b:  # an accumulator is never an input tile
                distinct = [a, b, acc]
                continue
            if a not in distinct:
                distinct.append(a)
            if b not in distinct:
                distinct.append(b)
            if acc not in distinct:
                distinct.append(acc)
        step_ids.append(distinct)
        mm_ids.append(triples)


TAKEBACKS_PER_TILE = 4
"""A step that cannot place its tiles after taking back this many per tile it holds is
reported as not fitting: placing them again in another order would only repeat itself."""


class _StackDistance:
    """The distinct bytes touched between two uses of a tile (its LRU stack distance)."""

    def __init__(self, steps: int) -> None:
        self.tree = [0] * (steps + 1)  # Fenwick tree: bytes of the tiles last used at a step
        self.last: dict[int, int] = {}  # tile -> the step of its latest use
        self.size: dict[int, int] = {}

    def _add(self, step: int, value: int) -> None:
        i = step + 1
        while i < len(self.tree):
            self.tree[i] += value
            i += i & -i

    def _before(self, step: int) -> int:
        """Bytes of the tiles whose latest use lies before ``step``."""
        total, i = 0, step
        while i > 0:
            total += self.tree[i]
            i -= i & -i
        return total

    def far(self, t: int, s: int, key: TileKey, window_bytes: int) -> bool:
        """True if input tile ``t``, used again at step ``s``, has left the window: the
        tiles touched since its latest use take more than ``window_bytes``. It is then
        forgotten (a new tile stands for it from here on)."""
        prev = self.last.get(t)
        if prev is None or prev == s or key[1]:
            return False
        if self._before(s) - self._before(prev + 1) <= window_bytes:
            return False
        self._add(prev, -self.size[t])
        del self.last[t]
        return True

    def touch(
        self, t: int, s: int, tile_bytes: Callable[[TileKey, bool], int], key: TileKey
    ) -> None:
        """Record a use of tile ``t`` at step ``s``."""
        prev = self.last.get(t)
        if prev == s:
            return
        if t not in self.size:
            self.size[t] = _round_up(tile_bytes(key, key[1]))
        if prev is not None:
            self._add(prev, -self.size[t])
        self._add(s, self.size[t])
        self.last[t] = s


_FEW_HOLES = 16
"""Up to this many holes, a plain loop finds the next fit faster than the C iterators."""


class _FreeList:
    """The holes of the SPM, sorted by address and coalesced; next-fit allocation.

    A tile takes the first hole that fits at or after where the last one was placed,
    wrapping around: space is reused in the order it was left, so the space freed
    just now (which the step in flight may still read, and a load into it would have to
    wait for) is taken last, and loads run ahead of the compute.
    """

    def __init__(self, capacity_bytes: int) -> None:
        self.addresses = [0]  # of the holes, ascending
        self.sizes = [capacity_bytes]  # of the holes, in the same order
        self.cursor = 0

    def allocate(self, size: int) -> int:
        """An address for ``size`` bytes, or -1 if no hole is large enough."""
        addresses, sizes = self.addresses, self.sizes
        start = bisect_left(addresses, self.cursor)
        count = len(sizes)
        h = -1
        if count <= _FEW_HOLES:
            for i in range(start, count):
                if sizes[i] >= size:
                    h = i
                    break
            else:
                for i in range(start):
                    if sizes[i] >= size:
                        h = i
                        break
        else:  # the same search, in C: fragmented SPM can have hundreds of holes
            fits = size.__le__
            h = next(compress(range(start, count), map(fits, sizes[start:])), -1)
            if h < 0:
                h = next(compress(range(start), map(fits, sizes[:start])), -1)
        if h < 0:
            return -1
        address = addresses[h]
        if sizes[h] == size:
            del addresses[h], sizes[h]
        else:
            addresses[h] += size
            sizes[h] -= size
        self.cursor = address + size
        return address

    def release(self, address: int, size: int) -> int:
        """Return ``size`` bytes at ``address``; the size of the hole they are now part of."""
        addresses, sizes = self.addresses, self.sizes
        lo = bisect_left(addresses, address)
        # Joined to the hole before it, the hole after it, both or neither: the lists are
        # changed once (an insertion and a deletion would each move their tails).
        if lo and addresses[lo - 1] + sizes[lo - 1] == address:
            if lo < len(addresses) and addresses[lo] == address + size:
                sizes[lo - 1] += size + sizes[lo]
                del addresses[lo], sizes[lo]
            else:
                sizes[lo - 1] += size
            return sizes[lo - 1]
        if lo < len(addresses) and addresses[lo] == address + size:
            addresses[lo] = address
            sizes[lo] += size
            return sizes[lo]
        addresses.insert(lo, address)
        sizes.insert(lo, size)
        return size


def plan_schedule(
    steps: Sequence[tuple[Matmul, ...]],
    tile_bytes: Callable[[TileKey, bool], int],
    capacity_bytes: int,
    partial: Callable[[str], bool] = lambda tensor: False,
    ops: Sequence[int] | None = None,
    window_bytes: int | None = None,
) -> Plan:
    """Plan a schedule's SPM use: which tiles move when, and where each one lives.

    ``tile_bytes(key, is_acc)`` gives a tile's SPM size; ``partial(tensor)`` says
    whether the schedule covers only part of that output's reduction (its final
    tiles are then added into DRAM). ``ops``, for a walk through several ops, gives
    each step's op (non-decreasing): an input tile is kept for its next use only if that
    lies in the same op or the next. ``window_bytes`` bounds reuse the way a program
    that keeps only a window of its recent tiles sees it: an input tile is kept for its
    next use only if the distinct tiles touched in between take at most that many bytes
    (else it is loaded again). Raises ``PlanError`` if it cannot fit.

    The cyclic garbage collector is paused meanwhile (and its state restored): a plan is
    made of residencies, actions and lists that hold no cycles, and a long walk keeps
    hundreds of thousands of them alive, which every collection would scan again.
    """
    with paused_collector():
        return _plan(steps, tile_bytes, capacity_bytes, partial, ops, window_bytes)
