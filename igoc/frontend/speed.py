"""The cyclic garbage collector, paused while large IR is built, verified or printed.

Parsing a 10,000-op file creates millions of small objects and no garbage
cycles; the collector would scan them over and over for nothing, which costs
about a third of the time. Pausing it is safe: reference counting still frees
everything, and the collector runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the ``with`` block (if it was running)."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
