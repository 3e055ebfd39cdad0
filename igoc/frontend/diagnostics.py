"""Diagnostics: an error in the user's input, with where it is and how to show it.

A diagnostic renders in the style of MLIR and clang::

    conv.mlir:7:3: error: output height (OH) disagrees: ...
      %dx = grad.conv2d_dx %dy, %w {stride = [2, 2]} : (...) -> ...
      ^

This module imports nothing heavy, so command-line tools can catch
:class:`DiagnosticError` without loading xDSL.
"""

from __future__ import annotations

from typing import Any

from igoc.errors import IgocError

QUOTE_CHARS = 200
"""At most this much of a source line is quoted under a diagnostic: the part around the
caret, with ``...`` where the line goes on (a generated file may hold a whole model on
one line)."""

Location = tuple[str, int, int]
"""``(filename, line, column)``, both counted from 1."""


class DiagnosticError(IgocError):
    """An error in the user's input: a message and, when known, where it is."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return self.headline()

    def headline(self) -> str:
        """``FILE:LINE:COL: error: MESSAGE``, or ``error: MESSAGE`` without a location."""
        if self.location is None:
            return f"error: {self.message}"
        filename, line, column = self.location
        return f"{filename}:{line}:{column}: error: {self.message}"

    def render(self, source_text: str | None = None) -> str:
        """The headline, then the source line and a caret under the column (when available)."""
        lines = [self.headline()]
        if self.location is not None and source_text is not None:
            _, line, column = self.location
            source_line = _source_line(source_text, line)
            if source_line:
                shown, prefix = _window(source_line, max(column - 1, 0))
                lines.append(shown)
                lines.append("".join("\t" if c == "\t" else " " for c in prefix) + "^")
        return "\n".join(lines)


def _window(line: str, caret: int) -> tuple[str, str]:
    """At most ``QUOTE_CHARS`` of ``line`` around index ``caret``, and what precedes the caret."""
    if len(line) <= QUOTE_CHARS:
        return line, line[:caret]
    caret = min(caret, len(line))
    start = max(0, min(caret - QUOTE_CHARS // 2, len(line) - QUOTE_CHARS))
    end = min(len(line), start + QUOTE_CHARS)
    head = "..." if start > 0 else ""
    tail = "..." if end < len(line) else ""
    return head + line[start:end] + tail, head + line[start:caret]


def shorten(text: str, limit: int = 60) -> str:
    """``text``, or its start and its length when longer than ``limit`` (for messages that
    quote what the user wrote)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text):,} characters)"


def _source_line(text: str, line: int) -> str:
    """Line ``line`` (from 1) of ``text``, control characters made visible; '' if absent."""
    if line < 1:
        return ""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    source_line = text[start:] if end < 0 else text[start:end]
    return "".join(c if c == "\t" or c.isprintable() else "?" for c in source_line.rstrip("\r"))


def location_of(op: Any) -> Location | None:
    """The ``(filename, line, column)`` of an op built by the front end, or None."""
    location = getattr(op, "location", None)
    try:
        return (location.filename.data, location.line.data, location.column.data)
    except AttributeError:
        return None


def error_at(op: Any, message: str) -> DiagnosticError:
    """A diagnostic at an op's source location, for passes to raise.

    ``raise error_at(op, "this layer needs 9.2 MiB of SPM; the target has 8 MiB")``
    """
    return DiagnosticError(message, location_of(op))
