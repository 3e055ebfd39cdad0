"""The cyclic garbage collector, held back while igoc builds large structures.

Parsing, compiling and simulating create millions of small objects, few of
them garbage cycles. The collector starts a pass every 700 allocations by
default and, now and then, a full pass over everything alive, including the
caches of the schedule searches; that cost a fifth of the time of compiling
a large network (T5-large's four pipelines on server-4c, compiled and
simulated in one process: 77 s with the default thresholds, 63 s with
``fewer_collections`` around the passes). Reference counting frees everything
else as usual; the thresholds are restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 200_000
"""Allocations between two passes over the youngest objects inside ``fewer_collections``."""


@contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the ``with`` block (if it was running).

    For parsing and printing, which create no garbage cycles at all; and around a whole
    compile in ``igoc`` and in ``igoc-bench``'s jobs, whose only cycles, the IR trees that
    passes drop, are few and wait for the first collection after it.
    """
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect young garbage cycles rarely, and never scan the old objects, inside the block.

    For compiling and simulating: passes and the lowering drop whole IR trees
    (whose ops, blocks and regions point at each other) as they go, which the
    young passes still free; what survives them is freed after the block.
    """
    saved = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, saved[1], 1_000_000)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
