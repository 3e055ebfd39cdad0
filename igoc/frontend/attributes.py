"""Types and attributes from the parse tree: the builtin ones igoc's IR uses.

Types: ranked tensors with static shapes, integer types (signless, ``si``,
``ui``), ``f16``/``bf16``/``f32``/``f64``, ``index``, ``none`` and function types.
Attributes: integers (``i64`` unless typed, ``2 : i32``), floats (``f64``
unless typed), strings, booleans, unit, arrays, dictionaries, dense arrays
(``array<i64: 1, 2>``), types, symbol references (``@x``) and the attributes of
igoc's dialects (``#sched.schedule<...>``, read by their own parsers). Each error
raises :class:`TreeError` with the token it is about; the builder turns that into a
diagnostic.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    NoneType,
    Signedness,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    bf16,
    f16,
    f32,
    f64,
    i64,
)
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

from igoc.frontend.lexer import attr_entries, compound_parts

if TYPE_CHECKING:
    from xdsl.context import Context

_FLOAT_TYPES: dict[str, Attribute] = {"f16": f16, "bf16": bf16, "f32": f32, "f64": f64}
_INTEGER_TYPE = re.compile(r"(si|ui|i)([0-9]+)")
_SIGNEDNESS = {"i": Signedness.SIGNLESS, "si": Signedness.SIGNED, "ui": Signedness.UNSIGNED}
_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\"}


class TreeError(Exception):
    """A problem with one token or subtree of the input."""

    def __init__(self, message: str, where: Token | Tree):
        super().__init__(message)
        self.message = message
        self.where = where


def first_token(node: Token | Tree) -> Token:
    """The first token of a subtree (for error positions)."""
    while isinstance(node, Tree):
        node = next(child for child in node.children if child is not None)
    return node


class AttributeBuilder:
    """Builds types and attributes, caching the types of the text that spells them."""

    def __init__(self) -> None:
        self._types: dict[str, Attribute] = {}
        self._tuples: dict[str, list[Attribute]] = {}
        self._function_types: dict[str, tuple[list[Attribute], list[Attribute]]] = {}
        self._dictionaries: dict[str, dict[str, Attribute]] = {}
        self._int_arrays: dict[str, ArrayAttr] = {}
        self._ints: dict[str, IntegerAttr] = {}
        self._dialect_attrs: dict[str, Attribute] = {}
        self._context: Context | None = None

    # ---- types ------------------------------------------------------------------------------

    def type(self, node: Token | Tree) -> Attribute:
        """The type a TENSOR or SCALAR token or a ``function_type`` subtree spells."""
        if isinstance(node, Token):
            cached = self._types.get(node.value)
            if cached is None:
                cached = self._types[node.value] = self._new_type(node)
            return cached
        inputs, outputs = self.function_type(node)
        return FunctionType.from_lists(inputs, outputs)

    def function_type(self, node: Tree) -> tuple[list[Attribute], list[Attribute]]:
        """Input and output types of a ``function_type`` subtree."""
        if len(node.children) == 1:  # a FUNCTION_TYPE token
            inputs, outputs = self._function_type_token(node.children[0])
            return list(inputs), list(outputs)
        inputs, outputs = node.children
        if isinstance(outputs, Token) and outputs.type != "TENSOR_TUPLE":
            return self.types(inputs), [self.type(outputs)]
        return self.types(inputs), self.types(outputs)

    def types(self, node: Tree | Token | None) -> list[Attribute]:
        """The types of a ``type_list`` subtree or a TENSOR_TUPLE token (None: no types)."""
        if node is None:
            return []
        if isinstance(node, Token):
            return list(self._type_run(node))
        types: list[Attribute] = []
        for child in node.children:
            if isinstance(child, Token) and child.type == "TENSOR_LIST":
                types += self._type_run(child)
            else:
                types.append(self.type(child))
        return types

    def _type_run(self, token: Token) -> list[Attribute]:
        """The types of a TENSOR_TUPLE or TENSOR_LIST token (cached by its text)."""
        cached = self._tuples.get(token.value)
        if cached is None:
            cached = self._tuples[token.value] = [self.type(t) for t in compound_parts(token)]
        return cached

    def _function_type_token(self, token: Token) -> tuple[list[Attribute], list[Attribute]]:
        """Input and output types of a FUNCTION_TYPE token (cached by its text)."""
        cached = self._function_types.get(token.value)
        if cached is None:
            parts = compound_parts(token)
            arrow = token.start_pos + token.value.index("->")
            inputs = [self.type(part) for part in parts if part.start_pos < arrow]
            outputs = [self.type(part) for part in parts if part.start_pos > arrow]
            cached = self._function_types[token.value] = (inputs, outputs)
        return cached

    def _new_type(self, token: Token) -> Attribute:
        text = token.value
        if token.type == "TENSOR":
            return self._tensor(token)
        scalar = self.scalar(text)
        if scalar is None:
            raise TreeError(f"unknown type '{text}'", token)
        return scalar

    def scalar(self, text: str) -> Attribute | None:
        """A scalar type by name, or None."""
        if text in _FLOAT_TYPES:
            return _FLOAT_TYPES[text]
        if text == "index":
            return IndexType()
        if text == "none":
            return NoneType()
        match = _INTEGER_TYPE.fullmatch(text)
        if match and 0 < int(match.group(2)) <= 1 << 16:
            return IntegerType(int(match.group(2)), _SIGNEDNESS[match.group(1)])
        return None

    def _tensor(self, token: Token) -> TensorType:
        text = token.value
        *dims, element_name = text[len("tensor<") : -1].split("x")
        element = self.scalar(element_name)
        if element is None or isinstance(element, NoneType):
            raise TreeError(
                f"unknown element type '{element_name}' in {text}; "
                "expected f16, bf16, f32, f64, i1, i8, i16, i32, i64 or index",
                token,
            )
        shape = []
        for dim in dims:
            if dim == "?":
                raise TreeError(f"{text} has a dynamic dimension; shapes must be static", token)
            if not dim.isdigit():
                raise TreeError(f"bad dimension '{dim}' in {text}", token)
            shape.append(int(dim))
        return TensorType(element, shape)

    # ---- attributes -------------------------------------------------------------------------

    def attribute(self, node: Token | Tree) -> Attribute:
        """The attribute an ``attr_value`` (a token or a subtree) spells."""
        if isinstance(node, Token):
            kind = node.type
            if kind == "INT":
                cached = self._ints.get(node.value)
                if cached is None:
                    cached = self._ints[node.value] = self._integer(node, i64)
                return cached
            if kind == "INT_ARRAY":
                array = self._int_arrays.get(node.value)
                if array is None:
                    elements = []
                    for part in node.value[1:-1].split(","):
                        part_token = Token("INT", part.strip(), None, node.line, node.column)
                        elements.append(self.attribute(part_token))
                    array = self._int_arrays[node.value] = ArrayAttr(elements)
                return array
            if kind == "FLOAT":
                return FloatAttr(float(node.value), f64)
            if kind == "STRING":
                return StringAttr(decode_string(node))
            if kind == "TRUE":
                return BoolAttr(True, IntegerType(1))
            if kind == "FALSE":
                return BoolAttr(False, IntegerType(1))
            if kind == "UNIT":
                return UnitAttr()
            if kind == "SYMBOL":
                name = decode_string(node) if node.value.startswith('@"') else node.value[1:]
                return SymbolRefAttr(name)
            if kind == "DIALECT_ATTR":
                return self._dialect_attribute(node)
            return self.type(node)
        kind = node.data
        if kind == "attr_dict":
            return DictionaryAttr(self.dictionary(node))
        if kind == "array_attr":
            return ArrayAttr([self.attribute(c) for c in node.children if c is not None])
        if kind == "typed_int":
            value, type_node = node.children
            value_type = self.type(type_node)
            if isinstance(value_type, IntegerType | IndexType):
                return self._integer(value, value_type)
            if value_type in _FLOAT_TYPES.values() and value.value.lstrip("-").startswith("0x"):
                return self._float_from_bits(value, value_type)
            raise TreeError(f"an integer cannot have type {value_type}", type_node)
        if kind == "typed_float":
            value, type_node = node.children
            value_type = self.type(type_node)
            if value_type not in _FLOAT_TYPES.values():
                raise TreeError(f"a float cannot have type {value_type}", type_node)
            return FloatAttr(float(value.value), value_type)  # type: ignore[arg-type]
        if kind == "dense_array":
            return self._dense_array(node)
        if kind == "function_type":
            return self.type(node)
        raise TreeError(f"unexpected {kind}", node)  # pragma: no cover - grammar and builder agree

    def _dialect_attribute(self, token: Token) -> Attribute:
        """A dialect's attribute (``#sched.gemm<...>``), parsed and verified by its class."""
        cached = self._dialect_attrs.get(token.value)
        if cached is not None:
            return cached
        from xdsl.parser import Parser
        from xdsl.utils.exceptions import ParseError

        from igoc.frontend.registry import make_context

        if self._context is None:
            self._context = make_context()
        try:
            attr = Parser(self._context, token.value).parse_attribute()
        except ParseError as err:
            before = token.value[: err.span.start]
            line = token.line + before.count("\n")
            column = token.column + len(before)
            if line != token.line:
                column = len(before) - before.rindex("\n")
            where = Token(token.type, token.value, None, line, column)
            raise TreeError(_first_line(err.msg), where) from None
        except VerifyException as err:
            raise TreeError(_first_line(str(err)), token) from None
        self._dialect_attrs[token.value] = attr
        return attr

    def dictionary(self, node: Tree | None) -> dict[str, Attribute]:
        """The entries of an ``attr_dict`` subtree, in order (None: no entries)."""
        if node is None:
            return {}
        children = node.children
        if len(children) == 1 and isinstance(children[0], Token):  # an ATTR_DICT token
            text = children[0].value
            cached = self._dictionaries.get(text)
            if cached is None:
                cached = self._dictionaries[text] = self._entries(attr_entries(children[0]))
            return dict(cached)
        return self._entries(entry.children for entry in children if entry is not None)

    def _entries(self, pairs: Iterable[Sequence[Token | Tree | None]]) -> dict[str, Attribute]:
        """A dictionary from (name token, value) pairs; a value of None is a unit attribute."""
        entries: dict[str, Attribute] = {}
        for name_token, value in pairs:
            assert isinstance(name_token, Token)
            name = decode_string(name_token) if name_token.type == "STRING" else name_token.value
            if name in entries:
                raise TreeError(f"duplicate attribute '{name}'", name_token)
            entries[name] = UnitAttr() if value is None else self.attribute(value)
        return entries

    def _integer(self, token: Token, value_type: Attribute) -> IntegerAttr:
        try:
            return IntegerAttr(int(token.value, 0), value_type)  # type: ignore[arg-type]
        except VerifyException as err:
            raise TreeError(str(err), token) from None

    def _float_from_bits(self, token: Token, value_type: Attribute) -> FloatAttr:
        bits = int(token.value, 16)
        formats = {f16: ("<H", "<e"), f32: ("<I", "<f"), f64: ("<Q", "<d")}
        if value_type not in formats:
            raise TreeError(f"hexadecimal {value_type} values are not supported", token)
        pack_format, unpack_format = formats[value_type]
        try:
            (value,) = struct.unpack(unpack_format, struct.pack(pack_format, bits))
        except struct.error:
            raise TreeError(f"{token.value} does not fit in {value_type}", token) from None
        return FloatAttr(value, value_type)  # type: ignore[arg-type]

    def _dense_array(self, node: Tree) -> DenseArrayBase:
        element_token, values = node.children
        element = self.type(element_token)
        items = [] if values is None else values.children
        if isinstance(element, IntegerType):
            integers = [self._dense_integer(item, element) for item in items]
            return DenseArrayBase.from_list(element, integers)
        if element in _FLOAT_TYPES.values():
            floats = [self._dense_float(item, element) for item in items]
            return DenseArrayBase.from_list(element, floats)  # type: ignore[arg-type]
        raise TreeError(f"dense arrays hold integers or floats, not {element}", element_token)

    def _dense_integer(self, item: Token, element: IntegerType) -> int:
        if item.type in ("TRUE", "FALSE"):
            return int(item.type == "TRUE")
        if item.type != "INT":
            raise TreeError(f"expected an integer in array<{element}: ...>", item)
        return self._integer(item, element).value.data

    def _dense_float(self, item: Token, element: Attribute) -> float:
        if item.type not in ("INT", "FLOAT"):
            raise TreeError(f"expected a number in array<{element}: ...>", item)
        return float(int(item.value, 0) if item.type == "INT" else item.value)


def _first_line(message: str) -> str:
    return " ".join(message.strip().splitlines()[:1]) or "bad attribute"


def decode_string(token: Token) -> str:
    """The text of a string literal (or quoted ``@"symbol"``) token.

    Escapes are MLIR's: ``\\n``, ``\\t``, ``\\"``, ``\\\\`` and ``\\XX`` (one byte, in hex);
    the bytes are decoded as UTF-8.
    """
    body = token.value[1:-1] if token.type == "STRING" else token.value[2:-1]
    if "\\" not in body:
        return body
    data = bytearray()
    position = 0
    for match in _ESCAPE.finditer(body):
        data += body[position : match.start()].encode()
        hex_digits, char = match.groups()
        if hex_digits is not None:
            data.append(int(hex_digits, 16))
        elif char in _SIMPLE_ESCAPES:
            data += _SIMPLE_ESCAPES[char]
        else:
            raise TreeError(f"unknown escape '\\{char}' in a string", token)
        position = match.end()
    data += body[position:].encode()
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise TreeError("the string's escapes do not form UTF-8 text", token) from None
