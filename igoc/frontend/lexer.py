"""The lexer of the front end: MLIR text to the terminals of ``grammar.lark``.

One regular expression matches every token (the ``TOKENS`` table), and
whitespace and comments are skipped inside the same scan, so a 10,000-op file
lexes several times faster than with lark's general lexer. Words (identifiers,
possibly dotted) are classified afterwards: keywords, scalar type names, dotted
op names, plain names. Where the parser cannot take a word's class at its
position, the word is read as a ``NAME`` instead, so that an attribute may be
called ``index`` or ``private`` (the same rule as lark's contextual lexer).

Compound tokens make the common case cheap for the LALR parser, whose cost is
per token (each one on one line): ``INT_ARRAY`` (``[2, 2]``), ``TENSOR_TUPLE``
(``(tensor<...>, tensor<...>)``), ``TENSOR_LIST`` (``tensor<...>, tensor<...>``),
``VALUE_LIST`` (``%a, %b``), ``ARG_TUPLE`` (``(%x: tensor<...>, %w: tensor<...>)``),
``FUNCTION_TYPE`` (``(tensor<...>, tensor<...>) -> tensor<...>``) and ``ATTR_DICT``
(``{stride = [2, 2], kind = "conv2d"}``: integers, integer lists and strings).
They cut the tokens of a typical file to little more than a third. Where the
parser cannot take a compound token, the lexer hands it over as its parts
instead; the builder splits the ones it takes with :func:`compound_parts` and
:func:`attr_entries`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark.lexer import Lexer, LexerState, Token

_VALUE = r"%[A-Za-z0-9_$.\-]++(?:\#[0-9]++)?+"  # possessive: a list never ends inside a name
_TENSOR = r"tensor<[^<>\n]*>"
_ARG = r"%[A-Za-z0-9_$.\-]+ *: *" + _TENSOR
_TENSORS = r"\( *(?:" + _TENSOR + r"(?: *, *" + _TENSOR + r")*)? *\)"  # (T, ...), maybe ()
_INT = r"-?[0-9]+"
_INT_ARRAY = r"\[ *" + _INT + r"(?: *, *" + _INT + r")* *\]"
_STRING = r'"(?:[^"\\\n]|\\.)*"'
_ENTRY = r"[A-Za-z_][A-Za-z0-9_$.]* *= *(?:" + _INT_ARRAY + "|" + _STRING + "|" + _INT + ")"


def _angles(depth: int) -> str:
    """``<...>``, with strings and up to ``depth`` levels of nested ``<...>`` (lines may break
    inside)."""
    inner = r'(?:[^<>"]|' + _STRING + ")"
    body = inner + "*"
    for _ in range(depth):
        body = "(?:" + inner + "|<" + body + ">)*"
    return "<" + body + ">"


_DIALECT_ATTR = r"#[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)+(?:" + _angles(3) + ")?"

TOKENS: tuple[tuple[str, str], ...] = (
    ("WS", r"[ \t\r\n\f\v]+"),
    ("COMMENT", r"//[^\n]*"),
    # Source locations, as `mlir-opt --mlir-print-debuginfo` prints them: skipped whole
    # (from the '(' to its ')'), like comments; an alias is defined at the top level.
    ("LOC", r"loc(?=\()"),
    ("LOC_ALIAS", r"\#loc[A-Za-z0-9_$.]*[ \t]*=[ \t]*loc(?=\()"),
    # The body of a tensor type is checked when the type is built, with a precise message.
    ("TENSOR_LIST", _TENSOR + r"(?: *, *" + _TENSOR + r")+"),
    ("TENSOR", _TENSOR),
    ("BAD_TENSOR", r"tensor<"),
    # Not before ':' and a digit: `%a, %r:2 =` names two results of %r.
    ("VALUE_LIST", _VALUE + r"(?: *, *" + _VALUE + r")+(?! *:[0-9])"),
    ("VALUE", _VALUE),
    ("BLOCK", r"\^[A-Za-z0-9_$.\-]+"),
    ("SYMBOL", r'@(?:[A-Za-z_$.][A-Za-z0-9_$.\-]*|"(?:[^"\\\n]|\\.)*")'),
    ("STRING", _STRING),
    ("FLOAT", r"-?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?"),
    ("INT", r"-?(?:0x[0-9a-fA-F]+|[0-9]+)"),
    ("INT_ARRAY", _INT_ARRAY),
    ("FUNCTION_TYPE", _TENSORS + r" *-> *(?:" + _TENSOR + "|" + _TENSORS + ")"),
    ("TENSOR_TUPLE", r"\( *" + _TENSOR + r"(?: *, *" + _TENSOR + r")* *\)"),
    ("ARG_TUPLE", r"\( *" + _ARG + r"(?: *, *" + _ARG + r")* *\)"),
    ("ATTR_DICT", r"\{ *" + _ENTRY + r"(?: *, *" + _ENTRY + r")* *\}"),
    # A dialect's attribute, ``#sched.gemm<m = 4, ...>``: read whole, built by xDSL's parser.
    ("DIALECT_ATTR", _DIALECT_ATTR),
    ("WORD", r"[A-Za-z_][A-Za-z0-9_$.]*"),
    ("_ARROW", r"->"),
    ("PUNCT", r"[(){}\[\]<>,=:]"),
    ("BAD", r"."),
)
"""Every token: its name and what it matches, tried in this order."""

COMPOUND_TOKENS = (
    "INT_ARRAY",
    "TENSOR_TUPLE",
    "TENSOR_LIST",
    "VALUE_LIST",
    "ARG_TUPLE",
    "FUNCTION_TYPE",
    "ATTR_DICT",
)
"""Tokens that stand for several (on one line); see the module docstring."""


def _compile(tokens: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{n}>{r})" for n, r in tokens), re.ASCII | re.DOTALL)


_PATTERN = _compile(TOKENS)
_PARTS_PATTERN = _compile(tuple(t for t in TOKENS if t[0] not in COMPOUND_TOKENS))

_PUNCT = {
    "(": "_LPAR",
    ")": "_RPAR",
    "{": "_LBRACE",
    "}": "_RBRACE",
    "[": "_LSQB",
    "]": "_RSQB",
    "<": "_LANGLE",
    ">": "_RANGLE",
    ",": "_COMMA",
    "=": "_EQUAL",
    ":": "_COLON",
}

KEYWORDS = {
    "builtin.module": "MODULE",
    "module": "MODULE",
    "func.func": "FUNC",
    "func.return": "RETURN",
    "return": "RETURN",  # as mlir-opt prints func.return inside a function
    "private": "VISIBILITY",
    "public": "VISIBILITY",
    "nested": "VISIBILITY",
    "true": "TRUE",
    "false": "FALSE",
    "unit": "UNIT",
    "array": "_ARRAY",
    "attributes": "_ATTRIBUTES",
}
"""Words with a terminal of their own."""

SCALAR_TYPE = re.compile(r"(?:bf16|f16|f32|f64|[su]?i[0-9]+|index|none)", re.ASCII)
"""Names of the scalar types: floats, integers (signless, signed, unsigned), index, none."""


MAX_NESTING = 64
"""How deep brackets, braces, parentheses and angle brackets may nest (regions included).
igoc's own IR nests about ten deep; the limit keeps the builder and the printer, which
recurse, far from Python's recursion limit on any input."""

MAX_DIGITS = 100
"""The most digits a number may have (an i64 has 19; ``2**64`` as a dimension must still
reach the verifier, which says what the limit is)."""

_OPEN, _CLOSE = frozenset("({[<"), frozenset(")}]>")
_NUMERIC = frozenset(
    {"INT", "FLOAT", "INT_ARRAY", "ATTR_DICT", "TENSOR", "TENSOR_LIST", "TENSOR_TUPLE"}
    | {"FUNCTION_TYPE", "ARG_TUPLE", "DIALECT_ATTR"}
)
_LONG_NUMBER = re.compile("[0-9]{" + str(MAX_DIGITS + 1) + ",}", re.ASCII)


class LexError(Exception):
    """Text that is no token; the parser turns it into a diagnostic."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _classify(word: str) -> str:
    kind = KEYWORDS.get(word)
    if kind is not None:
        return kind
    if SCALAR_TYPE.fullmatch(word):
        return "SCALAR"
    return "OPNAME" if "." in word else "NAME"


_token = getattr(Token, "_future_new", Token)
"""Token's constructor without its check for a deprecated keyword (a third faster)."""


class MlirLexer(Lexer):
    """A lark lexer (custom-lexer interface 2) for ``grammar.lark``."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any):
        pass

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """Yield the tokens of the text, with 1-based lines and columns."""
        text = lexer_state.text.text
        states = parser_state.parse_conf.states
        word_kinds: dict[str, str] = {}
        line, line_start = 1, 0
        locations = _Locations()
        depth = 0
        resume: int | None = 0
        while resume is not None:
            position, resume = resume, None
            for match in _PATTERN.finditer(text, position):
                kind = match.lastgroup
                value = match.group()
                start = match.start()
                if kind == "WS":
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = start + value.rindex("\n") + 1
                    continue
                if kind == "COMMENT":
                    continue
                if kind == "LOC" or kind == "LOC_ALIAS":
                    resume = locations.skip(text, match, line, start - line_start + 1)
                    newlines = text.count("\n", start, resume)
                    if newlines:
                        line += newlines
                        line_start = text.rindex("\n", start, resume) + 1
                    break
                if kind == "WORD":
                    kind = word_kinds.get(value) or word_kinds.setdefault(value, _classify(value))
                    accepted = states[parser_state.position]
                    if kind not in accepted and "NAME" in accepted:
                        kind = "NAME"
                elif kind == "PUNCT":
                    kind = _PUNCT[value]
                    if value in _OPEN:
                        depth += 1
                        if depth > MAX_NESTING:
                            message = f"nesting deeper than {MAX_NESTING} levels"
                            raise LexError(message, line, start - line_start + 1)
                    elif value in _CLOSE:
                        depth -= 1
                if kind in _NUMERIC and len(value) > MAX_DIGITS:
                    _check_digits(value, start, line, line_start)
                if kind in COMPOUND_TOKENS and kind not in states[parser_state.position]:
                    yield from _parts(value, start, line, line_start)
                    continue
                elif kind == "BAD":
                    raise LexError(_bad_character(value), line, start - line_start + 1)
                elif kind == "BAD_TENSOR":
                    message = "a tensor type ends with '>' on the same line: tensor<4x8xf16>"
                    raise LexError(message, line, start - line_start + 1)
                yield _token(kind, value, start, line, start - line_start + 1)
                if kind == "DIALECT_ATTR" and "\n" in value:  # the one token that may span lines
                    line += value.count("\n")
                    line_start = start + value.rindex("\n") + 1
        locations.check(text)


_LOCATION_PARTS = re.compile(r'"(?:[^"\\\n]|\\.)*"|[()]|\#loc[A-Za-z0-9_$.]*|"', re.ASCII)


class _Locations:
    """The ``loc(...)`` spans of a text: where each ends, and that every alias used is defined."""

    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.used: dict[str, int] = {}  # alias -> offset of its first use

    def skip(self, text: str, match: re.Match[str], line: int, column: int) -> int:
        """The offset after the location that ``match`` opens (its ``)``)."""
        opening = match.end()  # the '(' after 'loc'
        if match.lastgroup == "LOC_ALIAS":
            self.defined.add(match.group().split("=")[0].strip())
        depth = 0
        for part in _LOCATION_PARTS.finditer(text, opening):
            token = part.group()
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
                if depth == 0:
                    return part.end()
            elif token.startswith("#"):
                self.used.setdefault(token, part.start())
            elif token == '"':
                break  # a string not closed on its line
        raise LexError("a location 'loc(' is not closed by its ')'", line, column)

    def check(self, text: str) -> None:
        """Raise if a location alias is used and never defined."""
        for alias, offset in self.used.items():
            if alias not in self.defined:
                line = text.count("\n", 0, offset) + 1
                column = offset - (text.rfind("\n", 0, offset) + 1) + 1
                raise LexError(f"location alias '{alias}' is used but never defined", line, column)


_PART = re.compile(r"%[^ ,:)]+|tensor<[^<>]*>", re.ASCII)
_PART_KIND = {"%": "VALUE", "t": "TENSOR"}
_SPLITS: dict[str, list[tuple[str, str, int]]] = {}


def compound_parts(token: Token) -> list[Token]:
    """The values and types of a compound token the parser took, with their positions.

    ``VALUE_LIST`` gives its ``VALUE`` tokens, ``TENSOR_LIST`` and ``TENSOR_TUPLE``
    their ``TENSOR`` tokens, ``ARG_TUPLE`` a ``VALUE`` and a ``TENSOR`` per argument.
    """
    text = token.value
    split = _SPLITS.get(text)
    if split is None:
        split = [(_PART_KIND[m.group()[0]], m.group(), m.start()) for m in _PART.finditer(text)]
        if len(_SPLITS) < 4096:
            _SPLITS[text] = split
    start, line, column = token.start_pos, token.line, token.column
    return [_token(kind, value, start + at, line, column + at) for kind, value, at in split]


def attr_entries(token: Token) -> list[tuple[Token, Token]]:
    """The (name, value) tokens of an ``ATTR_DICT`` token, with their positions."""
    entries = []
    start, line, column = token.start_pos, token.line, token.column
    for match in _ENTRY_PARTS.finditer(token.value):
        name_at, value_at = match.start(1), match.start(2)
        value = match.group(2)
        kind = _ENTRY_VALUE_KIND.get(value[0], "INT")
        entries.append(
            (
                _token("NAME", match.group(1), start + name_at, line, column + name_at),
                _token(kind, value, start + value_at, line, column + value_at),
            )
        )
    return entries


_ENTRY_PARTS = re.compile(
    r"([A-Za-z_][A-Za-z0-9_$.]*) *= *(" + _INT_ARRAY + "|" + _STRING + "|" + _INT + ")", re.ASCII
)
_ENTRY_VALUE_KIND = {"[": "INT_ARRAY", '"': "STRING"}


def _parts(text: str, offset: int, line: int, line_start: int) -> Iterator[Token]:
    """The tokens of a compound token (one line, no comments or bad characters).

    Its words are names: the only words a compound token holds are attribute names.
    """
    for match in _PARTS_PATTERN.finditer(text):
        kind = match.lastgroup
        if kind == "WS":
            continue
        value = match.group()
        start = offset + match.start()
        kind = "NAME" if kind == "WORD" else _PUNCT.get(value, kind)
        yield _token(kind, value, start, line, start - line_start + 1)


def _check_digits(value: str, start: int, line: int, line_start: int) -> None:
    """Refuse a number of more than ``MAX_DIGITS`` digits in a token."""
    long = _LONG_NUMBER.search(value)
    if long is not None:
        if "\n" in value[: long.start()]:  # a dialect attribute broken over lines
            line += value.count("\n", 0, long.start())
            line_start = start + value.rindex("\n", 0, long.start()) + 1
        column = start + long.start() - line_start + 1
        digits = long.end() - long.start()
        message = f"a number of {digits:,} digits; numbers have at most {MAX_DIGITS}"
        raise LexError(message, line, column)


def _bad_character(char: str) -> str:
    if char == '"':
        return "unterminated string (a string ends with '\"' on the same line)"
    if char == "#":
        return (
            "attribute aliases ('#name') are not read; only location aliases are "
            "('#loc1 = loc(...)')"
        )
    if char in "%^@":
        what = {"%": "a value", "^": "a block", "@": "a symbol"}[char]
        return f"expected the name of {what} after '{char}'"
    if char == "-":
        return "unexpected '-' (a number or '->' must follow it)"
    if char.isprintable() and not char.isspace():
        return f"unexpected character '{char}' (U+{ord(char):04X})"
    return f"unexpected character U+{ord(char):04X}"
