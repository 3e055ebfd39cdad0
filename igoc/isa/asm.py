"""NPU assembly: parsing the text form of a program (``igoc-as``).

The syntax is in ``igoc/isa/README.md``. ``format_program`` (``igoc.isa.disasm``,
re-exported here) and ``parse_assembly`` are inverses: formatting a program and
parsing the text gives the same program, so ``igoc-objdump f.npu > f.s`` then
``igoc-as f.s -o g.npu`` makes ``g.npu`` byte-identical to ``f.npu``.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass

from igoc.errors import IgocError
from igoc.isa import instructions as ins
from igoc.isa.disasm import DTYPES, format_instruction, format_program
from igoc.isa.program import (
    ROLES,
    Label,
    Program,
    ProgramError,
    TensorDecl,
    _align,
    check_program,
)
from igoc.target import Target, TargetError, load_target, preset_names, target_from_dict

__all__ = ["AsmError", "format_instruction", "format_program", "parse_assembly"]
_TOKEN = re.compile(
    r"""(?P<space>[ \t]+)
      | (?P<comment>[;\#].*)
      | (?P<number>0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<punct>->|\+=|[=\[\],*@:])
    """,
    re.VERBOSE,
)


class AsmError(IgocError):
    """An assembly error at a place in the source; ``str()`` is the full diagnostic."""

    def __init__(self, filename: str, line: int, col: int, message: str, source: str) -> None:
        super().__init__(message)
        self.filename, self.line, self.col, self.message, self.source = (
            filename,
            line,
            col,
            message,
            source,
        )

    def __str__(self) -> str:
        caret = " " * (self.col - 1) + "^"
        return (
            f"{self.filename}:{self.line}:{self.col}: error: {self.message}\n{self.source}\n{caret}"
        )


# ---- parsing ---------------------------------------------------------------------------------
@dataclass
class _Tok:
    kind: str
    text: str
    col: int


class _Line:
    """The tokens of one source line, with a cursor and the diagnostics that point into it."""

    def __init__(self, asm: _Assembler, number: int, text: str, start: int = 0) -> None:
        self.asm, self.lineno, self.text = asm, number, text
        self.toks: list[_Tok] = []
        pos = start
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.error_at(pos + 1, f"unexpected character {text[pos]!r}")
            if m.lastgroup not in ("space", "comment"):
                self.toks.append(_Tok(m.lastgroup, m.group(), pos + 1))
            pos = m.end()
        self.i = 0

    def error_at(self, col: int, message: str) -> AsmError:
        return AsmError(self.asm.filename, self.lineno, col, message, self.text)

    def error(self, message: str, tok: _Tok | None = None) -> AsmError:
        tok = tok or self.peek()
        col = tok.col if tok else len(self.text.rstrip()) + 1
        return self.error_at(col, message)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.error(f"expected {what} at the end of the line")
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.next(f"'{text}'")
        if tok.text != text:
            raise self.error(f"expected '{text}', got '{tok.text}'", tok)
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.text == text and tok.kind != "string":
            self.i += 1
            return True
        return False

    def number(self, what: str, limit: int = 2**64 - 1) -> int:
        tok = self.next(what)
        if tok.kind != "number":
            raise self.error(f"expected {what} (a number), got '{tok.text}'", tok)
        text = tok.text.replace("_", "")
        base = {"0x": 16, "0X": 16, "0b": 2, "0B": 2}.get(text[:2], 10)
        try:
            value = int(text[2:] if base != 10 else text, base)
        except ValueError:
            raise self.error(f"bad number '{tok.text}'", tok) from None
        if value > limit:
            raise self.error(f"{what} {value} is too large (at most {limit})", tok)
        return value

    def name(self, what: str) -> tuple[str, _Tok]:
        tok = self.next(what)
        if tok.kind == "ident":
            return tok.text, tok
        if tok.kind == "string":
            try:
                return json.loads(tok.text), tok
            except ValueError:
                raise self.error(f"bad string {tok.text}", tok) from None
        raise self.error(f"expected {what}, got '{tok.text}'", tok)

    def keyword(self, key: str, limit: int = 2**32 - 1) -> int:
        tok = self.next(f"'{key}='")
        if tok.text != key:
            raise self.error(f"expected '{key}=', got '{tok.text}'", tok)
        self.expect("=")
        return self.number(key, limit)

    def dtype(self) -> ins.DType:
        tok = self.next("an element type (f16, bf16, f32)")
        if tok.text not in DTYPES:
            raise self.error(f"unknown element type '{tok.text}'; known: f16, bf16, f32", tok)
        return DTYPES[tok.text]

    def flags(self, allowed: tuple[str, ...]) -> set[str]:
        seen = set()
        while self.peek() is not None:
            tok = self.next("a flag")
            if tok.text not in allowed:
                raise self.error(f"unexpected '{tok.text}'; flags here: {', '.join(allowed)}", tok)
            if tok.text in seen:
                raise self.error(f"flag '{tok.text}' given twice", tok)
            seen.add(tok.text)
        return seen

    def end(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise self.error(f"unexpected '{tok.text}' at the end of the line", tok)


class _Assembler:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.target: Target | None = None
        self.tensors: list[tuple[str, str, ins.DType, tuple[int, ...], int | None, _Line]] = []
        self.tensor_index: dict[str, int] = {}
        self.convs: list[ins.ConvGeometry] = []
        self.conv_index: dict[str, int] = {}
        self.reference: list | None = None
        self.meta: dict = {}
        self.streams: dict[int, list[ins.Instruction]] = {}
        self.labels: list[Label] = []
        self.core: int | None = None
        self.open: dict[str, list[tuple[int, _Line, _Tok]]] = {}

    def run(self, text: str) -> Program:
        lines = text.split("\n")
        number = 0
        while number < len(lines):
            raw = lines[number]
            number += 1
            stripped = raw.lstrip()
            if not stripped.startswith("."):
                line = _Line(self, number, raw)
                if line.peek() is not None:
                    self.instruction(line)
                continue
            col = len(raw) - len(stripped) + 1
            word = re.match(r"\.[A-Za-z_]*", stripped).group()
            start = col - 1 + len(word)
            if word == ".target":
                number = self.target_directive(raw, col, start, lines, number)
            elif word in (".reference", ".meta"):
                self.json_directive(word, _Line(self, number, raw, len(raw)), raw, start)
            else:
                self.directive(word, col, _Line(self, number, raw, start))
        self.close_core()
        if self.target is None:
            first = lines[0] if lines else ""
            raise AsmError(self.filename, 1, 1, "missing '.target' directive", first)
        return self.build(lines)

    # directives
    def directive(self, word: str, col: int, line: _Line) -> None:
        if word == ".tensor":
            self.tensor_directive(line)
        elif word == ".conv":
            self.conv_directive(line)
        elif word == ".core":
            self.core_directive(line)
        elif word == ".label":
            self.label_directive(line)
        elif word == ".end":
            self.end_directive(line)
        else:
            raise line.error_at(
                col,
                f"unknown directive '{word}'; known: .target, .tensor, .conv, .reference, .meta, "
                ".core, .label, .end",
            )

    def json_directive(self, word: str, line: _Line, raw: str, start: int) -> None:
        payload = raw[start:]
        col = start + len(payload) - len(payload.lstrip()) + 1
        try:
            value = json.loads(payload)
        except ValueError as err:
            raise line.error_at(col, f"{word} expects JSON on the same line: {err}") from None
        if word == ".reference":
            if not isinstance(value, list):
                raise line.error_at(col, ".reference expects a JSON list of ops")
            self.reference = value
        else:
            if not isinstance(value, dict):
                raise line.error_at(col, ".meta expects a JSON object")
            self.meta = value

    def target_directive(
        self, raw: str, col: int, start: int, lines: list[str], number: int
    ) -> int:
        line = _Line(self, number, raw, len(raw))
        if self.target is not None:
            raise line.error_at(col, "'.target' given twice")
        rest = raw[start:].split(";")[0].strip()
        if rest == "{":
            body = []
            while number < len(lines) and lines[number].strip() != "}":
                body.append(lines[number])
                number += 1
            if number >= len(lines):
                raise line.error_at(col, "'.target {' without a closing '}' line")
            number += 1
            try:
                data = tomllib.loads("\n".join(body))
                self.target = target_from_dict(data, "target block")
            except tomllib.TOMLDecodeError as err:
                raise line.error_at(col, f"target block is not valid TOML: {err}") from None
            except TargetError as err:
                raise line.error_at(col, str(err)) from None
            return number
        name = rest.strip('"')
        if name not in preset_names():
            where = start + len(raw[start:]) - len(raw[start:].lstrip()) + 1
            raise line.error_at(
                where,
                f"unknown target '{name}'; presets: {', '.join(preset_names())}, "
                "or an inline '.target {' block",
            )
        self.target = load_target(name)
        return number

    def tensor_directive(self, line: _Line) -> None:
        name, tok = line.name("a tensor name")
        if name in self.tensor_index:
            raise line.error(f"tensor '{name}' declared twice", tok)
        role_tok = line.next("a role")
        if role_tok.text not in ROLES:
            raise line.error(f"unknown role '{role_tok.text}'; known: {', '.join(ROLES)}", role_tok)
        dtype = line.dtype()
        shape = self.int_list(line, "a dimension")
        if not shape or any(d <= 0 for d in shape):
            raise line.error("a shape needs positive dimensions")
        address = None
        if line.accept("@"):
            address = line.number("an address")
        line.end()
        self.tensor_index[name] = len(self.tensors)
        self.tensors.append((name, role_tok.text, dtype, tuple(shape), address, line))

    def int_list(self, line: _Line, what: str) -> list[int]:
        line.expect("[")
        values = [line.number(what, 2**31 - 1)]
        while line.accept(","):
            values.append(line.number(what, 2**31 - 1))
        line.expect("]")
        return values

    def pair(self, line: _Line, key: str) -> tuple[int, int]:
        tok = line.next(f"'{key}='")
        if tok.text != key:
            raise line.error(f"expected '{key}=', got '{tok.text}'", tok)
        line.expect("=")
        values = self.int_list(line, key)
        if len(values) != 2:
            raise line.error(f"'{key}' takes two values [h, w]", tok)
        return values[0], values[1]

    def conv_directive(self, line: _Line) -> None:
        name, tok = line.name("a conv name")
        if name in self.conv_index:
            raise line.error(f"conv '{name}' declared twice", tok)
        shape_tok = line.peek()
        shape = self.int_list(line, "a dimension")
        if len(shape) != 4:
            raise line.error("a conv views an NCHW tensor: give [N, C, H, W]", shape_tok)
        kernel = self.pair(line, "kernel")
        stride = self.pair(line, "stride")
        pad = self.pair(line, "pad")
        dilation = self.pair(line, "dilation")
        line.end()
        geometry = ins.ConvGeometry(*shape, *kernel, *stride, *pad, *dilation)
        self.conv_index[name] = len(self.convs)
        self.convs.append(geometry)

    def core_directive(self, line: _Line) -> None:
        if self.target is None:
            raise line.error("'.core' before '.target'")
        tok = line.peek()
        core = line.number("a core number")
        line.end()
        if core >= self.target.cores:
            raise line.error(f"core {core} does not exist: target has {self.target.cores}", tok)
        if core in self.streams:
            raise line.error(f"'.core {core}' given twice", tok)
        self.close_core()
        self.core = core
        self.streams[core] = []

    def close_core(self) -> None:
        for name, stack in self.open.items():
            if stack:
                _, where, tok = stack[-1]
                raise where.error(f"label '{name}' is not closed with '.end {name}'", tok)
        self.open = {}

    def label_directive(self, line: _Line) -> None:
        name, tok = line.name("a label name")
        if line.peek() is not None:  # explicit form: core= first= last=
            core = line.keyword("core")
            first = line.keyword("first", 2**63)
            last = line.keyword("last", 2**63)
            line.end()
            self.labels.append(Label(core, first, last, name))
            return
        if self.core is None:
            raise line.error(
                "'.label NAME' inside a '.core' section (or give core= first= last=)", tok
            )
        self.open.setdefault(name, []).append((len(self.labels), line, tok))
        self.labels.append(Label(self.core, len(self.streams[self.core]), -1, name))

    def end_directive(self, line: _Line) -> None:
        name, tok = line.name("a label name")
        line.end()
        stack = self.open.get(name)
        if not stack:
            raise line.error(f"'.end {name}' without an open '.label {name}'", tok)
        index, _, _ = stack.pop()
        lab = self.labels[index]
        last = len(self.streams[self.core]) - 1
        if last < lab.first:
            raise line.error(f"label '{name}' holds no instruction", tok)
        self.labels[index] = Label(lab.core, lab.first, last, name)

    # instructions
    def tensor_ref(self, line: _Line) -> int:
        name, tok = line.name("a tensor name")
        if name not in self.tensor_index:
            known = ", ".join(t[0] for t in self.tensors) or "none"
            raise line.error(f"unknown tensor '{name}'; declared: {known}", tok)
        return self.tensor_index[name]

    def block_pos(self, line: _Line, tensor: int) -> tuple[int, int, int, int, _Tok]:
        line.expect("[")
        first = line.next("'row' or 'elem'")
        if first.text == "row":
            row = line.number("a row")
            line.expect(",")
            line.expect("col")
            col = line.number("a column")
            elem = None
        elif first.text == "elem":
            elem = line.number("an element offset")
            row = col = 0
        else:
            raise line.error(f"expected 'row' or 'elem', got '{first.text}'", first)
        line.expect("]")
        rows = line.keyword("rows")
        cols = line.keyword("cols")
        stride = self.tensors[tensor][3][-1]
        tok = line.peek()
        if tok is not None and tok.text == "stride":
            stride = line.keyword("stride", 2**64 - 1)
        offset = elem if elem is not None else row * stride + col
        return offset, rows, cols, stride, first

    def im2col_pos(self, line: _Line) -> tuple[int, int, int, int, int]:
        line.expect("conv")
        name, tok = line.name("a conv name")
        if name not in self.conv_index:
            known = ", ".join(self.conv_index) or "none"
            raise line.error(f"unknown conv '{name}'; declared: {known}", tok)
        line.expect("[")
        line.expect("m")
        m = line.number("an im2col row")
        line.expect(",")
        line.expect("k")
        k = line.number("an im2col column")
        line.expect("]")
        rows = line.keyword("rows")
        cols = line.keyword("cols")
        return self.conv_index[name], m, k, rows, cols

    def spm(self, line: _Line) -> int:
        line.expect("spm")
        return line.number("an SPM address", 2**32 - 1)

    def instruction(self, line: _Line) -> None:
        tok = line.next("an instruction")
        if self.core is None:
            raise line.error("instruction outside a '.core' section", tok)
        op = tok.text
        if op == "load":
            tensor = self.tensor_ref(line)
            offset, rows, cols, stride, _ = self.block_pos(line, tensor)
            line.expect("->")
            addr = self.spm(line)
            dtype = line.dtype()
            flags = line.flags(("transpose",))
            inst: ins.Instruction = ins.Load(
                tensor, offset, rows, cols, stride, addr, dtype, "transpose" in flags
            )
        elif op == "store":
            addr = self.spm(line)
            dtype = line.dtype()
            line.expect("->")
            tensor = self.tensor_ref(line)
            offset, rows, cols, stride, _ = self.block_pos(line, tensor)
            flags = line.flags(("accumulate", "transpose", "zero"))
            if "zero" in flags and (len(flags) > 1 or addr != 0):
                raise line.error_at(
                    tok.col,
                    "store: 'zero' takes 'spm 0x0' and neither 'accumulate' nor 'transpose'",
                )
            inst = ins.Store(
                tensor,
                offset,
                rows,
                cols,
                stride,
                addr,
                dtype,
                "accumulate" in flags,
                "transpose" in flags,
                "zero" in flags,
            )
        elif op == "gather":
            tensor = self.tensor_ref(line)
            conv, m, k, rows, cols = self.im2col_pos(line)
            line.expect("->")
            addr = self.spm(line)
            dtype = line.dtype()
            flags = line.flags(("transpose",))
            inst = ins.Gather(tensor, conv, m, k, rows, cols, addr, dtype, "transpose" in flags)
        elif op == "scatter":
            addr = self.spm(line)
            dtype = line.dtype()
            line.expect("->")
            tensor = self.tensor_ref(line)
            conv, m, k, rows, cols = self.im2col_pos(line)
            flags = line.flags(("accumulate", "overwrite"))
            if flags == {"accumulate", "overwrite"}:
                raise line.error_at(
                    tok.col, "scatter: 'accumulate' and 'overwrite' exclude each other"
                )
            accumulate = "overwrite" not in flags
            inst = ins.Scatter(tensor, conv, m, k, rows, cols, addr, dtype, accumulate)
        elif op == "matmul":
            c_addr = self.spm(line)
            c_dtype = line.dtype()
            op_tok = line.next("'=' or '+='")
            if op_tok.text not in ("=", "+="):
                raise line.error(f"expected '=' or '+=', got '{op_tok.text}'", op_tok)
            a_addr = self.spm(line)
            line.expect("*")
            b_addr = self.spm(line)
            in_dtype = line.dtype()
            m = line.keyword("m")
            k = line.keyword("k")
            n = line.keyword("n")
            flags = line.flags(("transpose_a", "transpose_b"))
            inst = ins.Matmul(
                a_addr,
                b_addr,
                c_addr,
                m,
                k,
                n,
                in_dtype,
                c_dtype,
                op_tok.text == "+=",
                "transpose_a" in flags,
                "transpose_b" in flags,
            )
        elif op == "barrier":
            bid = line.number("a barrier number", 2**32 - 1)
            mask = 0
            tok_mask = line.peek()
            if tok_mask is not None and tok_mask.text == "mask":
                mask = line.keyword("mask")
            elif line.accept("cores"):
                while True:
                    ctok = line.peek()
                    core = line.number("a core number", 31)
                    if mask >> core & 1:
                        raise line.error(f"core {core} listed twice", ctok)
                    mask |= 1 << core
                    if not line.accept(","):
                        break
            else:
                mask = 1 << self.core
            line.end()
            inst = ins.Barrier(bid, mask)
        elif op == "halt":
            line.end()
            inst = ins.Halt()
        else:
            raise line.error(
                f"unknown instruction '{op}'; known: load, gather, store, scatter, matmul, "
                "barrier, halt",
                tok,
            )
        self.streams[self.core].append(inst)

    def build(self, lines: list[str]) -> Program:
        assert self.target is not None
        placed_end = 0
        for _, _, dtype, shape, address, _ in self.tensors:
            if address is not None:
                size = dtype.nbytes
                for d in shape:
                    size *= d
                placed_end = max(placed_end, address + size)
        tensors = []
        cursor = _align(placed_end)
        for name, role, dtype, shape, address, _ in self.tensors:
            if address is None:
                decl = TensorDecl(name, role, dtype, shape, cursor)
                cursor = _align(cursor + decl.nbytes)
            else:
                decl = TensorDecl(name, role, dtype, shape, address)
            tensors.append(decl)
        streams = [self.streams.get(c, []) for c in range(self.target.cores)]
        program = Program(
            self.target, tensors, self.convs, streams, self.labels, self.reference, self.meta
        )
        try:
            check_program(program)
        except ProgramError as err:
            raise AsmError(self.filename, 1, 1, str(err), lines[0] if lines else "") from None
        return program


def parse_assembly(text: str, filename: str = "<input>") -> Program:
    """A program from assembly text; ``AsmError`` (FILE:LINE:COL diagnostic) when it is wrong."""
    return _Assembler(filename).run(text)
