"""Progress of long work on a terminal: one status line on stderr, redrawn in place.

``igoc`` (a large network compiles for tens of seconds) and ``igoc-sim`` (a check of
a large program runs as long) say what they are doing on a line of their own, the
way a user of such tools expects, and only where someone watches: when stderr is a
terminal, and only once the work has taken ``DELAY_S``. The line is redrawn at most
every ``INTERVAL_S`` and cleared when the work ends, so nothing of it stays in the
terminal, and nothing is written at all to a file or a pipe (outputs, logs and tests
are the same with or without it).

Work reports through :func:`report` on its context (a compile's ``Session``) or calls
a :class:`StatusLine` it was handed; without one, reporting does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

DELAY_S = 1.0
"""Work shorter than this shows no status line."""

INTERVAL_S = 0.1
"""The status line is redrawn at most this often."""


class StatusLine:
    """A line of status on ``stream`` (if it is a terminal), prefixed by ``prog``."""

    def __init__(
        self,
        prog: str,
        stream: TextIO | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prog = prog
        isatty = getattr(stream, "isatty", None)
        self.stream = stream if stream is not None and isatty is not None and isatty() else None
        self.clock = clock
        self.started = clock()
        self.drawn = 0.0  # when the line was last drawn (0: not shown)

    @property
    def enabled(self) -> bool:
        """Whether anything is ever drawn (stderr is a terminal)."""
        return self.stream is not None

    def show(self, text: str) -> None:
        """Say ``text`` (drawn if the work has taken ``DELAY_S`` and the line was not
        drawn in the last ``INTERVAL_S``)."""
        if self.stream is None:
            return
        now = self.clock()
        if now - self.started < DELAY_S or (self.drawn and now - self.drawn < INTERVAL_S):
            return
        self.drawn = now
        self.stream.write(f"\r{self.prog}: {text}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """Clear the line, if it was drawn."""
        if self.stream is not None and self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = 0.0


def report(ctx: object, text: str) -> None:
    """Say ``text`` on the status line of ``ctx`` (a compile's session), if it has one."""
    line = getattr(ctx, "progress", None)
    if line is not None:
        line.show(text)
