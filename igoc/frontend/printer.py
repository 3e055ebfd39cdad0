"""Printing modules so that igoc's front end reads them back.

The custom form prints ``builtin.module``, ``func.func``, ``func.return`` and
every op of igoc's dialects (the uniform form of ``syntax.py``) in their custom
syntax, and any other op in the generic form, which the grammar parses for
every registered op. ``generic=True`` prints everything in MLIR's generic form.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.printer import Printer

from igoc.collector import paused_collector
from igoc.dialects.names import fresh_name
from igoc.frontend.syntax import UniformFormat, attribute_text, print_plain_dict

_CUSTOM = (ModuleOp, func.FuncOp, func.ReturnOp, UniformFormat)


class _IgocPrinter(Printer):
    """xDSL's printer, with the generic form for ops igoc's grammar has no custom form for.

    Tensor types, which make up most of the text, are printed from a cache. In
    the custom form, attribute dictionaries (of modules and functions) print
    their values as the uniform form does: ``{cores = 1}``, not ``{cores = 1 : i64}``.
    Values print under their names whole, numbered only when they collide
    (``igoc.dialects.names``).
    """

    def print_ssa_value(self, value: SSAValue) -> str:
        name = self._ssa_values.get(value)
        if name is None:
            if not value.name_hint:
                return super().print_ssa_value(value)
            name = fresh_name(self.ssa_names, value.name_hint)
            self._ssa_values[value] = name
        self.print_string(f"%{name}")
        return name

    def print_attr_dict(self, attr_dict: Mapping[str, Attribute]) -> None:
        if self.print_generic_format:
            super().print_attr_dict(attr_dict)
        else:
            print_plain_dict(self, attr_dict)

    def print_attribute(self, attribute: Attribute) -> None:
        if isinstance(attribute, TensorType):
            self.print_string(attribute_text(attribute))
        else:
            super().print_attribute(attribute)

    def print_op(self, op: Operation) -> None:
        if self.print_generic_format or isinstance(op, _CUSTOM):
            super().print_op(op)
            return
        self.print_generic_format = True
        try:
            super().print_op(op)
        finally:
            self.print_generic_format = False


def print_module(module: Operation, generic: bool = False, debuginfo: bool = False) -> str:
    """The text of a module (or any op), ending with a newline.

    ``debuginfo`` prints each op's source location after it, ``loc("FILE":LINE:COL)``
    (``loc(unknown)`` for ops that passes made), as ``mlir-opt --mlir-print-debuginfo``.
    """
    stream = io.StringIO()
    with paused_collector():
        printer = _IgocPrinter(
            stream=stream, print_generic_format=generic, print_debuginfo=debuginfo
        )
        printer.print_op(module)
    stream.write("\n")
    return stream.getvalue()
