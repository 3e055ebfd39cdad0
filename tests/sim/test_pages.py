"""``igoc.sim.pages.zeros``: np.zeros, in huge pages when large."""

from __future__ import annotations

import gc
import mmap
import sys

import numpy as np
import pytest

from igoc.sim import pages


@pytest.mark.parametrize("count", [0, 1, 1000, (1 << 20) - 1, 1 << 20, 3 << 20])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, bool, np.uint8])
@pytest.mark.parametrize("fill_last", [False, True])
def test_zeros_are_np_zeros(count, dtype, fill_last):
    got = pages.zeros(count, dtype, fill_last)
    assert got.dtype == np.dtype(dtype) and got.shape == (count,)
    assert got.flags.writeable and got.flags.c_contiguous
    assert not got.any()
    got[-1:] = 1  # every element is writable memory
    got[:1] = 1
    assert int(np.count_nonzero(got)) == min(count, 2)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_HUGEPAGE"),
    reason="huge pages are asked for on Linux only",
)
def test_a_large_array_starts_on_a_huge_page_a_small_one_is_ordinary():
    large = pages.zeros(pages.HUGE_FROM // 2, np.float16)
    assert large.ctypes.data % pages.HUGE_PAGE == 0
    # a mask's last huge page lies inside its mapping too, wherever the mapping starts
    masks = [pages.zeros((1 << 20) + 4096 * k, bool, fill_last=True) for k in range(16)]
    for mask in masks:
        region = mask.base.base.obj  # the mmap
        last = -(-(mask.ctypes.data + mask.nbytes) // pages.HUGE_PAGE) * pages.HUGE_PAGE
        assert mask.ctypes.data % pages.HUGE_PAGE == 0
        assert last <= np.frombuffer(region, np.uint8).ctypes.data + len(region)
    assert pages.zeros(pages.HUGE_FROM // 2 - 1, bool, fill_last=True).base is None
    small = pages.zeros(pages.HUGE_FROM // 4 - 1, np.float32)
    assert small.base is None  # np.zeros's own array


def test_a_view_keeps_the_memory_after_the_array_goes():
    array = pages.zeros(3 << 20, np.uint8)
    view = array.reshape(3, -1)[1:]
    del array
    gc.collect()
    view[...] = 7
    assert int(view.sum()) == 7 * (2 << 20)


def test_more_than_the_machine_can_map_is_a_memory_error():
    """As np.zeros's failure, which the simulator reports as too little memory."""
    with pytest.raises(MemoryError):
        pages.zeros(1 << 56, np.uint8)
