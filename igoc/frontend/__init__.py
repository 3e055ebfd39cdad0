"""Front end: MLIR text to verified xDSL IR, diagnostics, and printing that reads back.

Owns the syntax (the lark grammar, the lexer, building ops and attributes) and
the diagnostics; the dialects it builds are found by name (``registry``). May
import xDSL, lark and ``igoc.collector``; the dialects' own parsers read their
attributes (``#sched.schedule<...>``).

The public API (heavy modules are imported on first use, so that importing
this package stays cheap):

- ``parse_text(text, filename="<stdin>") -> ModuleOp`` and ``parse_file(path)``
  (``-`` is standard input): parse, build, verify; raise ``DiagnosticError``.
- ``read_source(path) -> str``: a file's text, or a ``DiagnosticError`` saying why not.
- ``DiagnosticError(message, location)``; ``.render(source_text)``.
- ``error_at(op, message) -> DiagnosticError``: a diagnostic at an op, for passes.
- ``print_module(module, generic=False, debuginfo=False) -> str``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from igoc.frontend.diagnostics import DiagnosticError, error_at, location_of

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Operation

__all__ = [
    "DiagnosticError",
    "error_at",
    "location_of",
    "parse_file",
    "parse_text",
    "print_module",
    "read_source",
]


def parse_text(text: str, filename: str = "<stdin>") -> ModuleOp:
    """Parse, build and verify MLIR text; raise ``DiagnosticError`` on any user error."""
    from igoc.frontend.parser import parse_text as parse

    return parse(text, filename)


def parse_file(path: str) -> ModuleOp:
    """Parse and verify the file at ``path`` (``-``: standard input)."""
    from igoc.frontend.parser import parse_file as parse

    return parse(path)


def read_source(path: str) -> str:
    """The UTF-8 text of a file (``-``: standard input), or a ``DiagnosticError``."""
    from igoc.frontend.parser import read_source as read

    return read(path)


def print_module(module: Operation, generic: bool = False, debuginfo: bool = False) -> str:
    """The text of a module in igoc's custom form, or MLIR's generic form; ``debuginfo``
    adds each op's ``loc(...)``."""
    from igoc.frontend.printer import print_module as print_

    return print_(module, generic, debuginfo)
