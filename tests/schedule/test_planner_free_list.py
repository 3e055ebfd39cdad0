"""The planner's free list against free bytes kept one by one.

Next fit: a tile takes the first hole (a maximal run of free bytes) that starts at or
after where the last tile placed ended and is large enough, else the first large enough
from the start; released bytes join the holes next to them, and ``release`` says how large
the hole they are now part of is.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from igoc.schedule.planner import _FreeList


class ByteMap:
    """Free bytes one by one (the plain model)."""

    def __init__(self, capacity: int) -> None:
        self.free = [True] * capacity
        self.cursor = 0

    def holes(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for address, free in enumerate(self.free):
            if not free:
                continue
            if out and out[-1][0] + out[-1][1] == address:
                out[-1] = (out[-1][0], out[-1][1] + 1)
            else:
                out.append((address, 1))
        return out

    def allocate(self, size: int) -> int:
        holes = self.holes()
        later = [h for h in holes if h[0] >= self.cursor]
        earlier = [h for h in holes if h[0] < self.cursor]
        for address, length in later + earlier:
            if length >= size:
                self.free[address : address + size] = [False] * size
                self.cursor = address + size
                return address
        return -1

    def release(self, address: int, size: int) -> int:
        self.free[address : address + size] = [True] * size
        return next(n for a, n in self.holes() if a <= address < a + n)


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(1, 300),
    ops=st.lists(st.tuples(st.booleans(), st.integers(1, 24), st.integers(0, 1000)), max_size=120),
)
def test_free_list_is_next_fit_over_free_bytes(capacity, ops):
    """Allocations and releases (of some allocation still held, chosen at random) give the
    same addresses, hole sizes and holes as the byte-by-byte model, with few holes or many
    (the free list searches those two ways)."""
    fast, plain = _FreeList(capacity), ByteMap(capacity)
    held: list[tuple[int, int]] = []
    for allocate, size, pick in ops:
        if allocate or not held:
            address = fast.allocate(size)
            assert address == plain.allocate(size)
            if address >= 0:
                held.append((address, size))
        else:
            address, size = held.pop(pick % len(held))
            assert fast.release(address, size) == plain.release(address, size)
        assert list(zip(fast.addresses, fast.sizes, strict=True)) == plain.holes()
        assert fast.cursor == plain.cursor


def test_free_list_with_many_holes():
    """Past ``_FEW_HOLES`` holes the search runs another way, to the same next fit."""
    fast, plain = _FreeList(200), ByteMap(200)
    blocks = [fast.allocate(3) for _ in range(60)]
    assert blocks == [plain.allocate(3) for _ in range(60)]
    for address in blocks[::2]:
        assert fast.release(address, 3) == plain.release(address, 3)
    assert len(fast.sizes) > 16
    for size in (4, 3, 2, 3, 20, 1, 3, 3):
        assert fast.allocate(size) == plain.allocate(size)
        assert list(zip(fast.addresses, fast.sizes, strict=True)) == plain.holes()
