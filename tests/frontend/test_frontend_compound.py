"""Compound tokens: the lexer's shortcuts read the same IR as their parts, and errors
inside them point at the part that is wrong."""

import re
from collections import Counter

import pytest

from igoc.frontend import DiagnosticError, parse_text, print_module
from igoc.frontend import lexer as lexer_module
from igoc.frontend import parser as parser_module

X, W, Y = "tensor<4x8xf16>", "tensor<8x2xf16>", "tensor<4x2xf16>"
CX, CW, CY = "tensor<2x3x8x8xf16>", "tensor<4x3x3x3xf16>", "tensor<2x4x4x4xf16>"
CONV = '{kind = "conv2d", stride = [2, 2], padding = [1, 1]}'

# Every compound token in its common spelling (one line, single spaces).
COMPACT = f"""\
func.func @fc(%x: {X}, %w: {W}, %dy: {Y}) -> ({Y}, {X}, {W}) {{
  %y = grad.matmul %x, %w {{note.note = "a, b = c", note.level = -3}} : ({X}, {W}) -> {Y}
  %y2 = grad.matmul %x, %w {{note.scale = 0.5, note.tile = [4, 4]}} : ({X}, {W}) -> {Y}
  %dx, %dw = grad.interleaved %dy, %x, %w {{kind = "matmul"}} : ({Y}, {X}, {W}) -> ({X}, {W})
  func.return %y, %dx, %dw : {Y}, {X}, {W}
}}
func.func @conv(%x: {CX}, %w: {CW}, %dy: {CY}) -> ({CX}, {CW}) {{
  %r:2 = grad.interleaved %dy, %x, %w {CONV} : ({CY}, {CX}, {CW}) -> ({CX}, {CW})
  func.return %r#0, %r#1 : {CX}, {CW}
}}
"""


def spread(text: str) -> str:
    """The same program with a line break after every comma and brace outside strings,
    so no compound token matches."""
    return re.sub(r'"[^"]*"|([,{])\s*', lambda m: m[0] if m[1] is None else m[1] + "\n  ", text)


def token_kinds(text: str, monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How many tokens of each kind the parser receives for ``text``."""
    kinds: Counter = Counter()
    lex = lexer_module.MlirLexer.lex

    def counting_lex(self, lexer_state, parser_state):
        for token in lex(self, lexer_state, parser_state):
            kinds[token.type] += 1
            yield token

    monkeypatch.setattr(lexer_module.MlirLexer, "lex", counting_lex)
    monkeypatch.setattr(parser_module, "_PARSER", None)
    parse_text(text)
    monkeypatch.undo()
    return kinds


def test_the_compact_spelling_uses_every_compound_token(monkeypatch):
    compact = token_kinds(COMPACT, monkeypatch)
    parts = token_kinds(spread(COMPACT), monkeypatch)
    for kind in lexer_module.COMPOUND_TOKENS:
        assert compact[kind] > 0, kind
        assert parts[kind] == 0, kind
    assert sum(compact.values()) < sum(parts.values()) / 2


def test_compound_tokens_read_the_same_ir_as_their_parts():
    compact, parts = parse_text(COMPACT), parse_text(spread(COMPACT))
    assert compact.is_structurally_equivalent(parts)
    assert print_module(compact) == print_module(parts)


def test_a_compound_token_the_parser_cannot_take_is_read_as_its_parts():
    # An argument tuple after a block label, a type list inside an array attribute,
    # an attribute dictionary of a function type: none is a place for a shortcut.
    text = f"""\
"func.func"() <{{sym_name = "f", function_type = ({X}, {W}) -> {Y}}}> ({{
^bb0(%x: {X}, %w: {W}):
  %y = grad.matmul %x, %w {{note.types = [{X}, {W}]}} : ({X}, {W}) -> {Y}
  func.return %y : {Y}
}}) : () -> ()
"""
    module = parse_text(text)
    assert module.is_structurally_equivalent(parse_text(spread(text)))
    assert parse_text(print_module(module)).is_structurally_equivalent(module)


def test_naming_several_results_is_not_a_list_of_values():
    # `%a, %r:2` is %a and a group of two, not a list %a, %r followed by ':2'.
    text = COMPACT.replace("%r:2 =", "%a, %r:2 =")
    with pytest.raises(DiagnosticError, match=r"has 2 result\(s\) but 3 name\(s\)"):
        parse_text(text)


@pytest.mark.parametrize(
    ("old", "new", "message", "part"),
    [
        ("%dy, %x, %w {kind", "%dy, %x, %q {kind", "use of undefined value %q", "%q"),
        ('{kind = "matmul"}', '{kind = "matmul", strides = 1}', "unknown attribute", "strides"),
        (f"({Y}, {X}, {W}) -> ({X}", f"({Y}, {X[:-4]}f17>, {W}) -> ({X}", "f17", X[:-4]),
        ("%dx, %dw = ", "%dx, %y = ", "redefinition of %y", "%y"),
        ("%dy, %x, %w {kind", "%dy, %w, %x {kind", "type mismatch for %w", "%w,"),
    ],
)
def test_errors_inside_a_compound_token_point_at_the_part(old, new, message, part):
    text = COMPACT.replace(old, new, 1)
    line = text.splitlines()[3]
    assert text != COMPACT and part in line
    with pytest.raises(DiagnosticError, match=re.escape(message)) as caught:
        parse_text(text, "bad.mlir")
    assert caught.value.location == ("bad.mlir", 4, line.index(part) + 1)
