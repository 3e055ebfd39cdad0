"""Zeroed arrays that Linux backs with huge pages from their first byte.

A run on data allocates each input it draws, and a DRAM tensor and a mask of written
elements per other tensor, most of them a few MiB, and touches each whole. Taken 4 KiB
page by page, that is one page fault per 4 KiB, two for a mask (read before it is
written: the read maps the zero page, the write faults again): on BERT-large at batch 8,
0.66 million faults on the simulator's thread, seconds of system time. numpy asks for
transparent huge pages only on arrays of 4 MiB or more, and then only the part between
the array's first and last 2 MiB boundaries gets them. So an array here is carved from
an anonymous mapping of its own, starting on a 2 MiB boundary, and the kernel is asked
for huge pages on its whole 2 MiB pages: one fault per 2 MiB, and 4 KiB pages only for
the part of a last huge page that the array does not fill (no memory beyond what
``np.zeros`` would hold), except for masks, whose last huge page is whole too.
Where huge pages are off, the mapping takes 4 KiB pages as ``np.zeros``'s memory would;
on a system without ``madvise``, the array is ``np.zeros``'s.
"""

from __future__ import annotations

import contextlib
import mmap

import numpy as np

HUGE_PAGE = 2 << 20
"""Bytes of a transparent huge page (x86-64 and arm64 with 4 KiB base pages)."""

HUGE_FROM = HUGE_PAGE
"""Arrays of at least this many bytes get huge pages (half as many with ``fill_last``);
smaller ones are ordinary arrays."""


def zeros(count: int, dtype, fill_last: bool = False) -> np.ndarray:
    """``np.zeros(count, dtype)``, in huge pages when it is large (see the module doc).

    Its whole huge pages are asked for as such; the rest of its last one, if it ends
    inside one, is taken in 4 KiB pages, so it holds no more memory than ``np.zeros``'s
    would. ``fill_last``: that last one is a huge page too (up to 2 MiB more memory, for
    an array that is read before it is written and lives briefly, such as a mask of
    written elements). Its memory is a mapping of whole huge pages, one more than its data
    needs: the part before the boundary it starts on is never touched, so it costs address
    space, not memory. The mapping goes when the array (and every view of it) does.
    """
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    smallest = HUGE_FROM // 2 if fill_last else HUGE_FROM
    if nbytes < smallest or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.zeros(count, dtype)
    huge = -(-nbytes // HUGE_PAGE) if fill_last else nbytes // HUGE_PAGE
    length = -(-nbytes // HUGE_PAGE) * HUGE_PAGE + HUGE_PAGE
    # private and anonymous: zeros, and huge pages as for any process memory (a shared
    # mapping's follow the settings for shared memory, often off)
    try:
        region = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except OSError as err:  # ENOMEM: as np.zeros fails
        raise MemoryError(f"cannot map {nbytes:,} bytes: {err.strerror or err}") from None
    whole = np.frombuffer(region, np.uint8)
    start = -whole.ctypes.data % HUGE_PAGE
    with contextlib.suppress(OSError):  # no huge pages here: 4 KiB pages, as np.zeros's
        region.madvise(mmap.MADV_HUGEPAGE, start, huge * HUGE_PAGE)
    return whole[start : start + nbytes].view(dtype)
