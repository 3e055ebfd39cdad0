"""The dialects igoc knows, loaded lazily into an xDSL context.

Adding a dialect is one line in ``DIALECTS``. A dialect is imported only when
an op or attribute of it is first looked up.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from typing import TYPE_CHECKING, TypeVar

from igoc.frontend.diagnostics import shorten

if TYPE_CHECKING:
    from xdsl.context import Context
    from xdsl.ir import Dialect

DIALECTS: dict[str, str] = {
    "builtin": "xdsl.dialects.builtin:Builtin",
    "func": "xdsl.dialects.func:Func",
    "grad": "igoc.dialects.grad:Grad",
    "npu": "igoc.dialects.npu:Npu",
    "sched": "igoc.dialects.sched:Sched",
}
"""Dialect name -> ``module:object`` of its xDSL ``Dialect``."""


def load_object(path: str) -> object:
    """Import ``module:attribute`` and return the attribute."""
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _factory(path: str):
    return lambda: load_object(path)


ContextT = TypeVar("ContextT", bound="Context")


def register_dialects(ctx: ContextT) -> ContextT:
    """Register every dialect of ``DIALECTS`` in ``ctx`` (loaded on first use); ``ctx``."""
    for name, path in DIALECTS.items():
        if name not in ctx.registered_dialect_names:
            ctx.register_dialect(name, _factory(path))
    return ctx


def make_context() -> Context:
    """A fresh xDSL context with every dialect of ``DIALECTS`` registered (not yet loaded)."""
    from xdsl.context import Context

    return register_dialects(Context())


def dialect(name: str) -> Dialect:
    """The dialect called ``name`` (imported now)."""
    return load_object(DIALECTS[name])  # type: ignore[return-value]


def op_names(dialect_name: str) -> list[str]:
    """The names of every op of a dialect, sorted."""
    return sorted(op.name for op in dialect(dialect_name).operations)


@functools.cache
def known_op_names() -> frozenset[str]:
    """The name of every op of every dialect igoc reads (imports them all)."""
    return frozenset(op for name in DIALECTS for op in op_names(name))


def unknown_op_message(name: str) -> str:
    """Why ``name`` is no op, with the nearest known name or the known ones."""
    dialect_name, dot, _ = name.partition(".")
    shown = shorten(name)
    if not dot or dialect_name not in DIALECTS:
        every = [op for d in DIALECTS for op in op_names(d)]
        close = _close(name, every)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return (
            f"unknown op '{shown}'{hint} (known dialects: {', '.join(sorted(DIALECTS))}; "
            "an op is written dialect.name)"
        )
    known = op_names(dialect_name)
    close = _close(name, known)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown op '{shown}'; {hint}known {dialect_name} ops: {', '.join(known)}"


def _close(name: str, names: list[str]) -> list[str]:
    """The nearest of ``names``, if any is near (no op name is long: a long word is none)."""
    if len(name) > 64:
        return []
    return difflib.get_close_matches(name, names, n=1)
