"""Parse MLIR text into a verified xDSL module, or raise a :class:`DiagnosticError`.

The steps: check that the text is text; lex and parse it with the lark grammar
(``grammar.lark``, lexer in ``lexer.py``); build xDSL ops with the checks of
``builder.py``; run xDSL's verifier and turn its first complaint into a
diagnostic at the op that raised it.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import resources

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.irdl import IRDLOperation
from xdsl.irdl.constraints import VerificationContext
from xdsl.utils.exceptions import VerifyException

from igoc.collector import paused_collector
from igoc.frontend.attributes import TreeError, first_token
from igoc.frontend.builder import IRBuilder
from igoc.frontend.diagnostics import DiagnosticError, location_of, shorten
from igoc.frontend.lexer import COMPOUND_TOKENS, LexError, MlirLexer
from igoc.frontend.registry import known_op_names, unknown_op_message
from igoc.frontend.syntax import plain_text

_PARSER: Lark | None = None

_DESCRIPTIONS = {
    "TENSOR": "a tensor type",
    "SCALAR": "a type",
    "VALUE": "a value (%name)",
    "BLOCK": "a block label (^name)",
    "SYMBOL": "a symbol (@name)",
    "STRING": "a string",
    "FLOAT": "a number",
    "INT": "an integer",
    "NAME": "a name",
    "OPNAME": "an op name",
    "MODULE": "'module'",
    "FUNC": "'func.func'",
    "RETURN": "'func.return'",
    "VISIBILITY": "'private' or 'public'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "UNIT": "'unit'",
    "_ARRAY": "'array'",
    "_ATTRIBUTES": "'attributes'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "_LSQB": "'['",
    "_RSQB": "']'",
    "_LANGLE": "'<'",
    "_RANGLE": "'>'",
    "_COMMA": "','",
    "_EQUAL": "'='",
    "_COLON": "':'",
    "_ARROW": "'->'",
    "$END": "the end of the input",
}

# Sets of terminals that read better as one phrase, tried in order.
_GROUPS = (
    ("an operation", {"OPNAME", "STRING", "FUNC", "RETURN", "MODULE"}, {"VALUE"}),
    (
        "an attribute value",
        {"INT", "FLOAT", "STRING", "TRUE", "FALSE", "_LSQB", "_LBRACE", "TENSOR"},
        {"UNIT", "_ARRAY", "SCALAR", "_LPAR"},
    ),
    ("a type", {"TENSOR", "SCALAR", "_LPAR"}, set()),
)


def _lark() -> Lark:
    global _PARSER
    if _PARSER is None:
        grammar = resources.files("igoc.frontend").joinpath("grammar.lark").read_text()
        _PARSER = Lark(
            grammar,
            parser="lalr",
            lexer=MlirLexer,
            maybe_placeholders=True,
            cache=_cache_path(),
        )
    return _PARSER


def _cache_path() -> str | bool:
    """Where lark keeps the analysed grammar between runs (the user's cache folder), or False.

    Loading it takes a fifth of the time of analysing the grammar; lark checks that
    the cached grammar is this one and rebuilds the file when it is not.
    """
    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "igoc")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    return os.path.join(folder, f"grammar-lark-{lark.__version__}.cache")


def read_source(path: str) -> str:
    """The text of a file (``-``: standard input), or a diagnostic saying why it has none."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as stream:
                data = stream.read()
    except FileNotFoundError:
        raise DiagnosticError(f"cannot read '{path}': no such file") from None
    except IsADirectoryError:
        raise DiagnosticError(f"cannot read '{path}': it is a directory") from None
    except OSError as err:
        raise DiagnosticError(f"cannot read '{path}': {err.strerror or err}") from None
    return decode_source(data, "<stdin>" if path == "-" else path)


def decode_source(data: bytes, filename: str) -> str:
    """Bytes as UTF-8 text, or a diagnostic at the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DiagnosticError(
            f"not UTF-8 text (byte 0x{data[err.start]:02x}); is this a binary file?",
            (filename, line, column),
        ) from None


def parse_file(path: str) -> ModuleOp:
    """Parse and verify the file at ``path`` (``-``: standard input)."""
    return parse_text(read_source(path), "<stdin>" if path == "-" else path)


def parse_text(text: str, filename: str = "<stdin>") -> ModuleOp:
    """Parse, build and verify MLIR text; raise :class:`DiagnosticError` on any user error."""
    nul = text.find("\x00")
    if nul >= 0:
        raise DiagnosticError(
            "the input holds a NUL character; is this a binary file?",
            _position(text, nul, filename),
        )
    with paused_collector():
        return _parse(text, filename)


def _parse(text: str, filename: str) -> ModuleOp:
    """Parse, build and verify (the collector paused by the caller)."""
    try:
        tree = _lark().parse(text)
        if not tree.children:
            raise DiagnosticError(
                "the input holds no operations (expected a module or a func.func)",
                (filename, 1, 1),
            )
        module = IRBuilder(filename).module(tree)
    except LexError as err:
        offset = _offset(text, err.line, err.column)
        raise _unknown_op_before(text, offset, filename) or DiagnosticError(
            err.message, (filename, err.line, err.column)
        ) from None
    except UnexpectedToken as err:
        offset = err.token.start_pos if err.token.type != "$END" else None
        unknown = _unknown_op_before(text, offset, filename) if offset is not None else None
        raise unknown or _syntax_error(err, text, filename) from None
    except UnexpectedCharacters as err:  # pragma: no cover - the lexer raises LexError instead
        raise DiagnosticError("unexpected character", (filename, err.line, err.column)) from None
    except UnexpectedInput as err:  # pragma: no cover - LALR reports UnexpectedToken
        raise DiagnosticError("syntax error", (filename, err.line, err.column)) from None
    except TreeError as err:
        token = first_token(err.where)
        raise DiagnosticError(err.message, (filename, token.line, token.column)) from None
    verify(module)
    return module


def verify(module: ModuleOp) -> None:
    """Run xDSL's verifier; report its first complaint at the op that made it."""
    try:
        module.verify()
    except Exception as err:  # noqa: BLE001 - any verifier failure is reported, never raised
        op, message = _failing_op(module, err)
        raise DiagnosticError(f"'{op.name}' op {message}", location_of(op)) from None


def _failing_op(module: ModuleOp, err: Exception) -> tuple[Operation, str]:
    """The first op that does not verify, and its message (slow: only on the error path)."""
    for op in module.walk():
        if isinstance(op, IRDLOperation):
            bad_property = _bad_property(op)
            if bad_property:
                return op, bad_property
        try:
            op.verify_()
        except Exception as bad:  # noqa: BLE001
            return op, _one_line(bad)
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except Exception as bad:  # noqa: BLE001
            return op, _one_line(bad)
    return module, _one_line(err)


def _bad_property(op: IRDLOperation) -> str | None:
    """What is wrong with the first property of ``op`` that breaks its constraint, if any."""
    definitions = op.get_irdl_definition().properties
    for name, value in op.properties.items():
        definition = definitions.get(name)
        if definition is None:
            continue
        try:
            definition.constr.verify(value, VerificationContext())
        except VerifyException as bad:
            default = definition.default_value
            shown = plain_text(value)
            if default is not None:
                expected = plain_text(default)
                return f"has a bad value for '{name}': {shown}; expected a value like {expected}"
            return f"has a bad value for '{name}': {shown} ({_one_line(bad)})"
    return None


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text.removeprefix("Operation does not verify: ") or type(err).__name__


# Where an op's name stands: in quotes before '(' (generic form), or first on its line
# after the results (custom form).
_OP_NAME = re.compile(
    r'"([A-Za-z_][\w$]*\.[\w$.]+)"[ \t]*\('
    r"|^[ \t]*(?:%[^\n=\"]*=[ \t]*)?([A-Za-z_][\w$]*\.[\w$.]+)(?![\w$.])",
    re.MULTILINE | re.ASCII,
)


def _unknown_op_before(text: str, offset: int, filename: str) -> DiagnosticError | None:
    """An error inside an op whose name igoc does not know is reported as that unknown op.

    IR from other tools holds ops of dialects igoc does not read (``arith``,
    ``tosa``), whose attributes and custom syntax the grammar cannot follow:
    naming the op says more than the first token it cannot read.
    """
    last = None
    for match in _OP_NAME.finditer(text, 0, offset + 1):
        last = match
    if last is None:
        return None
    name = last.group(1) or last.group(2)
    if name in known_op_names():
        return None
    at = last.start() if last.group(1) else last.start(2)
    return DiagnosticError(unknown_op_message(name), _position(text, at, filename))


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    return start + column - 1


def _position(text: str, index: int, filename: str) -> tuple[str, int, int]:
    line = text.count("\n", 0, index) + 1
    return (filename, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _syntax_error(err: UnexpectedToken, text: str, filename: str) -> DiagnosticError:
    token: Token = err.token
    expected = set(err.expected)
    if token.type == "$END":
        end = len(text.rstrip())
        message = (
            f"unexpected end of the input (is the file cut short?); expected {_expected(expected)}"
        )
        return DiagnosticError(message, _position(text, end, filename))
    location = (filename, token.line, token.column)
    if token.type in ("NAME", "OPNAME") and "OPNAME" in expected:
        return DiagnosticError(unknown_op_message(token.value), location)
    return DiagnosticError(
        f"unexpected {_describe(token)}; expected {_expected(expected)}", location
    )


_TOKEN_KINDS = {
    "STRING": "string",
    "INT": "integer",
    "FLOAT": "number",
    "VALUE": "value",
    "NAME": "name",
    "OPNAME": "op name",
    "TENSOR": "type",
    "SCALAR": "type",
    "SYMBOL": "symbol",
    "BLOCK": "block label",
    "INT_ARRAY": "list",
    "TENSOR_TUPLE": "list of types",
    "TENSOR_LIST": "list of types",
    "VALUE_LIST": "list of values",
    "ARG_TUPLE": "list of arguments",
    "FUNCTION_TYPE": "function type",
    "ATTR_DICT": "attribute dictionary",
}


def _describe(token: Token) -> str:
    kind = _TOKEN_KINDS.get(token.type)
    value = shorten(token.value)
    if kind is None:
        return f"'{value}'"
    shown = value if token.type == "STRING" else f"'{value}'"
    return f"{kind} {shown}"


def _expected(names: set[str]) -> str:
    names = names - set(COMPOUND_TOKENS)  # shortcuts whose parts are listed too
    phrases = []
    for phrase, required, optional in _GROUPS:
        if required <= names:
            names = names - required - optional
            phrases.append(phrase)
    phrases += sorted(_DESCRIPTIONS.get(name, name) for name in names)
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]
