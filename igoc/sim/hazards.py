"""Which earlier instruction an instruction's SPM hazard is on, found before the run.

An instruction waits for the latest completion of each other queue's instructions
whose SPM ranges meet its own (``igoc.sim.timing``). A queue runs in order, so its
completion times never decrease along the program, and that latest completion is the
one of the *newest* such instruction: which one that is depends on the ranges alone,
not on time. So it is found here, with numpy over the whole stream, by looking back
over the last ``WINDOW`` instructions of the queue, and the timing loop reads one time.
When none of those meets the range, older ones still may: the loop asks
``igoc.sim.queuelog`` about them, but only when the newest of them ends after the
instruction is ready anyway (older ones end no later).

Ranges meet when they share an elementary SPM segment; an empty range (a store that
reads no SPM) meets the ranges it lies strictly inside. A query of an empty range is
always left to ``igoc.sim.queuelog``, whose runs answer it as they are cut.

What ``newest_meeting`` gives per query instruction, counted back along the queue from
the instruction (the queue's instructions before it are ``1``, ``2``, ... back), so that
it is a small number: ``v > 0``, the hazard is on the ``v``-th one back; ``0``, no
earlier instruction of the queue meets the range; ``v < 0``, none of the ``-v - 1``
looked at does, and the ``-v``-th one back is the newest one not looked at.
"""

from __future__ import annotations

import numpy as np

WINDOW = 16  # instructions of a queue looked back over before the run

Spans = list[tuple[np.ndarray, np.ndarray]]


def newest_meeting(
    q_spans: Spans, p_spans: Spans, before: np.ndarray, window: int | None = None
) -> np.ndarray:
    """For each query instruction, how far back along a queue of painters the newest one
    whose range meets one of the query's ranges is, looking ``window`` painters back
    (coded as the module docstring says).

    ``q_spans`` gives one or more ranges per query (the operands that count) and
    ``p_spans`` one or more per painter, in program order, each as arrays of its first
    elementary SPM segment and one past its last; ``before`` is the number of painters
    before each query; ``window`` is ``WINDOW`` unless given.
    """
    if window is None:
        window = WINDOW
    out = np.zeros(len(before), np.int8)
    empty = np.zeros(len(before), bool)
    for a, b in q_spans:
        empty |= a >= b
    active = np.flatnonzero((before > 0) & ~empty)
    spans = [(a[active], b[active]) for a, b in q_spans]
    at = before[active]
    for back in range(1, window + 1):
        at -= 1
        live = at >= 0
        if not live.all():
            active, at = active[live], at[live]
            spans = [(a[live], b[live]) for a, b in spans]
        if not len(active):
            break
        hit = np.zeros(len(active), bool)
        for x, y in p_spans:
            x, y = x[at], y[at]
            for a, b in spans:
                hit |= (x < b) & (a < y)
        out[active[hit]] = back
        miss = ~hit
        active, at = active[miss], at[miss]
        spans = [(a[miss], b[miss]) for a, b in spans]
    out[active[at > 0]] = -window - 1  # painters before the window
    out[empty & (before > 0)] = -1
    return out
