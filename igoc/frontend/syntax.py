"""The uniform custom form shared by every op of igoc's dialects.

Every op of igoc's dialects prints and parses as

    %r0, %r1 = dialect.op %a, %b {name = value, ...} : (T0, T1) -> (R0, R1)

(one result: ``-> R0``). Properties and discardable attributes travel together
in the attribute dictionary; a property equal to its default is left out. Values
are printed the way a user writes them: an ``i64`` integer as ``2`` (not
``2 : i64``), an ``f64`` float as ``0.5``, so ``{stride = [2, 2]}`` reads as typed.

Any other attribute of such an op must have a dotted name (``sched.schedule``):
the front end rejects an undotted name the op does not declare, so that a
misspelt property is an error rather than a silent extra attribute.

An op class opts in by deriving from :class:`UniformFormat` before
``IRDLOperation``. The front end's grammar parses this form for every op whose
class does so, and xDSL's own ``Parser`` parses it through :meth:`UniformFormat.parse`.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Self

from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    FunctionType,
    IntegerAttr,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute
from xdsl.irdl import IRDLOperation

if TYPE_CHECKING:
    from xdsl.parser import Parser
    from xdsl.printer import Printer


def format_float(value: float) -> str:
    """A finite float as the shortest literal that reads back to the same ``f64``.

    The literal always holds a ``.`` so that it is a float in MLIR syntax
    (``1.0``, ``1.0e+20``, ``-2.5e-07``).
    """
    text = repr(float(value))
    if "." in text or "inf" in text or "nan" in text:
        return text
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}.0e{exponent}"
    return text + ".0"


def print_plain_attribute(printer: Printer, attr: Attribute) -> None:
    """Print a builtin attribute with the types a reader would not write left out.

    ``i64`` integers and finite ``f64`` floats print bare (the parser reads a
    bare integer as ``i64`` and a bare float as ``f64``); arrays and
    dictionaries print their elements the same way; anything else prints as
    xDSL prints it.
    """
    if isinstance(attr, IntegerAttr) and attr.type == i64:
        printer.print_string(str(attr.value.data))
    elif isinstance(attr, FloatAttr) and attr.type == f64 and math.isfinite(attr.value.data):
        printer.print_string(format_float(attr.value.data))
    elif isinstance(attr, ArrayAttr):
        printer.print_string("[")
        for index, element in enumerate(attr.data):
            if index:
                printer.print_string(", ")
            print_plain_attribute(printer, element)
        printer.print_string("]")
    elif isinstance(attr, DictionaryAttr):
        print_plain_dict(printer, attr.data)
    else:
        printer.print_attribute(attr)


def print_plain_dict(printer: Printer, entries: Mapping[str, Attribute]) -> None:
    """Print ``{name = value, ...}`` with :func:`print_plain_attribute` values."""
    printer.print_string("{")
    for index, (name, value) in enumerate(entries.items()):
        if index:
            printer.print_string(", ")
        printer.print_identifier_or_string_literal(name)
        if not isinstance(value, UnitAttr):
            printer.print_string(" = ")
            print_plain_attribute(printer, value)
    printer.print_string("}")


def split_properties(
    op_class: type[IRDLOperation], entries: Mapping[str, Attribute]
) -> tuple[dict[str, Attribute], dict[str, Attribute]]:
    """Split an attribute dictionary into the op's declared properties and the rest."""
    declared = op_class.get_irdl_definition().properties
    properties = {name: value for name, value in entries.items() if name in declared}
    attributes = {name: value for name, value in entries.items() if name not in declared}
    return properties, attributes


def visible_entries(op: IRDLOperation) -> dict[str, Attribute]:
    """The entries the uniform form prints: non-default properties, then attributes."""
    entries: dict[str, Attribute] = {}
    for name, definition in op.get_irdl_definition().properties.items():
        value = op.properties.get(name)
        if value is not None and value != definition.default_value:
            entries[name] = value
    entries.update(op.attributes)
    return entries


class _TextByIdentity:
    """Texts remembered by the identity of the attributes they print.

    Hashing an attribute hashes its parameters recursively (a tensor type: its
    shape, each dimension, its element type), which made hashing a third of the
    time of printing a large module. Equal attributes of one module are mostly
    the same objects (the front end shares them), so looking texts up by
    identity first is cheap; on a miss the value-keyed cache behind answers.
    Entries keep their attributes alive, so an identity is never reused while
    remembered.
    """

    def __init__(self, limit: int = 8192):
        self.limit = limit
        self.entries: dict[Hashable, tuple[object, str]] = {}

    def lookup(self, key: Hashable) -> str | None:
        """The text remembered for ``key`` (identities), or None."""
        entry = self.entries.get(key)
        return None if entry is None else entry[1]

    def store(self, key: Hashable, keep: object, text: str) -> str:
        """Remember ``text`` for ``key``, keeping ``keep`` (what the identities are of) alive."""
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (keep, text)
        return text


_ATTRIBUTE_TEXTS = _TextByIdentity()
_SIGNATURE_TEXTS = _TextByIdentity()
_DICT_TEXTS = _TextByIdentity()


def attribute_text(attr: Attribute) -> str:
    """How xDSL prints an attribute (cached: attributes are immutable values)."""
    key = id(attr)
    text = _ATTRIBUTE_TEXTS.lookup(key)
    return text if text is not None else _ATTRIBUTE_TEXTS.store(key, attr, _attribute_text(attr))


def signature_text(inputs: tuple[Attribute, ...], outputs: tuple[Attribute, ...]) -> str:
    """``(T0, T1) -> R`` (several results, or a function type, in parentheses)."""
    key = (len(inputs), *map(id, inputs), *map(id, outputs))
    text = _SIGNATURE_TEXTS.lookup(key)
    if text is None:
        text = _SIGNATURE_TEXTS.store(key, (inputs, outputs), _signature_text(inputs, outputs))
    return text


def plain_dict_text(entries: tuple[tuple[str, Attribute], ...]) -> str:
    """``{name = value, ...}`` as :func:`print_plain_dict` prints it."""
    key = tuple(part for name, value in entries for part in (name, id(value)))
    text = _DICT_TEXTS.lookup(key)
    return text if text is not None else _DICT_TEXTS.store(key, entries, _plain_dict_text(entries))


@functools.lru_cache(maxsize=4096)
def _attribute_text(attr: Attribute) -> str:
    """How xDSL prints an attribute (cached: attributes are immutable values)."""
    from xdsl.printer import Printer

    stream = io.StringIO()
    Printer(stream=stream).print_attribute(attr)
    return stream.getvalue()


@functools.lru_cache(maxsize=4096)
def _signature_text(inputs: tuple[Attribute, ...], outputs: tuple[Attribute, ...]) -> str:
    text = "(" + ", ".join(map(attribute_text, inputs)) + ") -> "
    if len(outputs) == 1 and not isinstance(outputs[0], FunctionType):
        return text + attribute_text(outputs[0])
    return text + "(" + ", ".join(map(attribute_text, outputs)) + ")"


def plain_text(attr: Attribute) -> str:
    """An attribute as :func:`print_plain_attribute` prints it."""
    from xdsl.printer import Printer

    stream = io.StringIO()
    print_plain_attribute(Printer(stream=stream), attr)
    return stream.getvalue()


@functools.lru_cache(maxsize=4096)
def _plain_dict_text(entries: tuple[tuple[str, Attribute], ...]) -> str:
    from xdsl.printer import Printer

    stream = io.StringIO()
    print_plain_dict(Printer(stream=stream), dict(entries))
    return stream.getvalue()


class UniformFormat:
    """Mixin giving an IRDL op igoc's uniform custom syntax (see the module docstring)."""

    def print(self, printer: Printer) -> None:
        """Print everything after ``%results = name``."""
        op: IRDLOperation = self  # type: ignore[assignment]
        if op.operands:
            printer.print_string(" ")
            printer.print_list(op.operands, printer.print_operand)
        entries = visible_entries(op)
        text = " " + plain_dict_text(tuple(entries.items())) if entries else ""
        signature = signature_text(tuple(op.operand_types), tuple(op.result_types))
        printer.print_string(f"{text} : {signature}")

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        """Parse everything after ``%results = name`` with xDSL's parser."""
        position = parser.pos
        operands = parser.parse_optional_undelimited_comma_separated_list(
            parser.parse_optional_unresolved_operand, parser.parse_unresolved_operand
        )
        entries = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        function_type = parser.parse_function_type()
        values = parser.resolve_operands(operands or [], function_type.inputs.data, position)
        properties, attributes = split_properties(cls, entries)  # type: ignore[arg-type]
        return cls.create(  # type: ignore[attr-defined]
            operands=values,
            result_types=function_type.outputs.data,
            properties=properties,
            attributes=attributes,
        )
