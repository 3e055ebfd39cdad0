"""From the parse tree to xDSL IR, checking what xDSL's verifier does not.

The builder walks the tree top-down, so it knows at every point which values
are visible: a function body sees its arguments and the values defined above
in it; a region of a generic op also sees the values of the region around it
unless the op is isolated from above (``func.func``, ``builtin.module``). It
checks use before definition, redefinition, operand and result counts, each
operand's type against the op's signature, unknown ops and attributes, and
``func.return`` against the function's signature. Every op gets the
``FileLineColLoc`` of the first token of its statement.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from lark import Token, Tree
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FileLineColLoc,
    FunctionType,
    IntAttr,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.irdl.operations import VariadicDef
from xdsl.traits import IsolatedFromAbove

from igoc.dialects.names import set_name
from igoc.frontend.attributes import AttributeBuilder, TreeError, decode_string, first_token
from igoc.frontend.lexer import attr_entries, compound_parts
from igoc.frontend.registry import make_context, unknown_op_message
from igoc.frontend.syntax import UniformFormat

_VALID_NAME = re.compile(r"[A-Za-z_$.\-][\w$.\-]*", re.ASCII)


@dataclass
class _Scope:
    """The values of one region: name -> (values, defining token)."""

    values: dict[str, tuple[list[SSAValue], Token]] = field(default_factory=dict)
    isolated: bool = False
    node: Tree | None = None  # the region's parse tree, to find late definitions
    blocks: dict[str, Block] = field(default_factory=dict)
    block_uses: dict[str, Token] = field(default_factory=dict)
    defined_blocks: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _OpInfo:
    """What the builder needs to know about an op class, computed once per class."""

    op_class: type[Operation]
    uniform: bool
    properties: frozenset[str]
    attributes: frozenset[str]
    operand_names: tuple[str, ...] | None  # None: some operand is variadic
    result_names: tuple[str, ...] | None


def _op_info(op_class: type[Operation]) -> _OpInfo:
    if not issubclass(op_class, IRDLOperation):
        return _OpInfo(op_class, False, frozenset(), frozenset(), None, None)
    definition = op_class.get_irdl_definition()

    def fixed(defs: list) -> tuple[str, ...] | None:
        if any(isinstance(d, VariadicDef) for _, d in defs):
            return None
        return tuple(name for name, _ in defs)

    return _OpInfo(
        op_class,
        issubclass(op_class, UniformFormat),
        frozenset(definition.properties),
        frozenset(definition.attributes),
        fixed(definition.operands),
        fixed(definition.results),
    )


class IRBuilder:
    """Builds one module from one parse tree."""

    def __init__(self, filename: str):
        self.filename = filename
        self.ctx = make_context()
        self.attrs = AttributeBuilder()
        self.scopes: list[_Scope] = []
        self.functions: list[tuple[str, list[Attribute]]] = []
        self.symbols: dict[str, Token] = {}
        self._file_attr = StringAttr(filename)
        self._ints: dict[int, IntAttr] = {}
        self._ops: dict[str, _OpInfo] = {}
        self._current: Tree | None = None

    # ---- entry point ------------------------------------------------------------------------

    def module(self, tree: Tree) -> ModuleOp:
        """The module of a whole file: its one ``module`` op, or its top-level ops wrapped."""
        children = tree.children
        self.scopes.append(_Scope(isolated=True, node=tree))
        block = Block()
        self.ops_into(block, children)
        self.scopes.pop()
        only = block.first_op
        if only is not None and only is block.last_op and isinstance(only, ModuleOp):
            only.detach()
            return only
        module = ModuleOp(Region(block))
        if children:
            module.location = self.location(first_token(children[0]))
        return module

    # ---- helpers ----------------------------------------------------------------------------

    def location(self, token: Token) -> FileLineColLoc:
        """The ``FileLineColLoc`` of a token."""
        ints = self._ints
        line = ints.get(token.line) or ints.setdefault(token.line, IntAttr(token.line))
        column = ints.get(token.column) or ints.setdefault(token.column, IntAttr(token.column))
        return _location(self._file_attr, line, column)

    def op_info(self, name: str, token: Token) -> _OpInfo:
        """The class of the op called ``name`` (an error at ``token`` if there is none)."""
        info = self._ops.get(name)
        if info is None:
            op_class = self.ctx.get_optional_op(name)
            if op_class is None:
                raise TreeError(unknown_op_message(name), token)
            info = self._ops[name] = _op_info(op_class)
        return info

    def lookup(self, token: Token) -> SSAValue:
        """The value a VALUE token (``%name`` or ``%name#index``) refers to."""
        name, _, index_text = token.value[1:].partition("#")
        for scope in reversed(self.scopes):
            entry = scope.values.get(name)
            if entry is not None:
                values = entry[0]
                index = int(index_text) if index_text else 0
                if index >= len(values):
                    raise TreeError(
                        f"%{name} has {len(values)} result(s); #{index} does not exist", token
                    )
                return values[index]
            if scope.isolated:
                break
        raise TreeError(self._undefined_message(name, token), token)

    def _undefined_message(self, name: str, use: Token) -> str:
        """Why ``%name`` is not visible at ``use`` (only called on the error path)."""
        for scope in reversed(self.scopes):
            if name in scope.values:
                return (
                    f"%{name} is defined outside this isolated region (func.func and "
                    "modules see no values from outside)"
                )
        for scope in reversed(self.scopes):
            definitions = _definitions(scope.node, f"%{name}")
            later = [t for t in definitions if (t.line, t.column) > (use.line, use.column)]
            if later:
                return (
                    f"%{name} is used before its definition (at line {later[0].line}, "
                    f"column {later[0].column})"
                )
            if definitions:
                return (
                    f"use of undefined value %{name} (the %{name} of line "
                    f"{definitions[0].line} belongs to a region that does not hold this use)"
                )
            if scope.isolated:
                break
        return f"use of undefined value %{name}"

    def define(self, token: Token, values: list[SSAValue]) -> None:
        """Bind a name (the VALUE token) to values, refusing a second definition."""
        name = token.value[1:]
        if "#" in name:
            raise TreeError(f"a result is named without '#': %{name.partition('#')[0]}", token)
        for scope in reversed(self.scopes):
            previous = scope.values.get(name)
            if previous is not None:
                first = previous[1]
                raise TreeError(
                    f"redefinition of %{name} (first defined at line {first.line}, "
                    f"column {first.column})",
                    token,
                )
            if scope.isolated:
                break
        self.scopes[-1].values[name] = (values, token)
        if _VALID_NAME.fullmatch(name) and not name[0].isdigit():
            for value in values:
                set_name(value, name)

    def operands(self, node: Tree | None, types: list[Attribute], op_name: str) -> list[SSAValue]:
        """Resolve operand tokens and check each against its type in the signature."""
        tokens = [] if node is None else _expand(node.children)
        if len(tokens) != len(types):
            raise TreeError(
                f"{op_name} has {len(tokens)} operand(s) but its signature lists "
                f"{len(types)} operand type(s)",
                node if node is not None else self._current,
            )
        values = []
        for token, expected in zip(tokens, types, strict=True):
            value = self.lookup(token)
            if value.type != expected:
                defined = self._definition_token(token)
                raise TreeError(
                    f"type mismatch for {token.value}: the signature of {op_name} gives "
                    f"{expected}, but {token.value} is {value.type} (defined at line "
                    f"{defined.line})",
                    token,
                )
            values.append(value)
        return values

    def _definition_token(self, token: Token) -> Token:
        name = token.value[1:].partition("#")[0]
        for scope in reversed(self.scopes):
            if name in scope.values:
                return scope.values[name][1]
        return token  # pragma: no cover - only called on names that resolved

    def results(self, node: Tree | None, op: Operation) -> None:
        """Bind the names before ``=`` to the op's results (``%r:2`` names two)."""
        tokens = [] if node is None else _expand(node.children)
        groups: list[tuple[Token, int]] = []
        for token in tokens:
            if token.type == "INT":
                groups[-1] = (groups[-1][0], int(token.value))
            else:
                groups.append((token, 1))
        total = sum(count for _, count in groups)
        if total != len(op.results):
            raise TreeError(
                f"{op.name} has {len(op.results)} result(s) but {total} name(s) are given "
                "before '='",
                tokens[0] if tokens else self._current,
            )
        position = 0
        for token, count in groups:
            self.define(token, list(op.results[position : position + count]))
            position += count

    def split_entries(
        self, info: _OpInfo, entries: dict[str, Attribute], where: Tree | None
    ) -> tuple[dict[str, Attribute], dict[str, Attribute]]:
        """Declared properties of the op, and the other attributes.

        An op of igoc's dialects accepts only its own properties and attributes
        and dotted (discardable) names, so that a misspelt ``strides`` is an error.
        """
        properties: dict[str, Attribute] = {}
        attributes: dict[str, Attribute] = {}
        for name, value in entries.items():
            if name in info.properties:
                properties[name] = value
            else:
                if info.uniform and "." not in name and name not in info.attributes:
                    raise TreeError(self._unknown_attribute(info, name), _entry(where, name))
                attributes[name] = value
        return properties, attributes

    def _unknown_attribute(self, info: _OpInfo, name: str) -> str:
        known = sorted(info.properties | info.attributes)
        op_name = info.op_class.name
        rule = "other attributes need a dotted name such as 'my.note'"
        if not known:
            return f"unknown attribute '{name}': {op_name} takes none ({rule})"
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        takes = ", ".join(known)
        return f"unknown attribute '{name}' for {op_name}; {hint}it takes {takes} ({rule})"

    # ---- operations -------------------------------------------------------------------------

    def ops_into(self, block: Block, nodes: list[Tree]) -> None:
        """Build the op trees ``nodes`` at the end of ``block``.

        Each kind of op tree (``custom_op``, ``generic_op``, ``func_op``,
        ``return_op``, ``module_op``) is built by the method of that name.
        """
        for node in nodes:
            self._current = node
            block.add_op(getattr(self, node.data)(node))

    def custom_op(self, node: Tree) -> Operation:
        """``%r = dialect.op %a, %b {attrs} : (T, T) -> R`` for ops of igoc's dialects."""
        results, name_token, operand_node, attr_node, type_node = node.children
        name = name_token.value
        info = self.op_info(name, name_token)
        if not info.uniform:
            raise TreeError(
                f"{name} has no uniform custom form; write it in the generic form "
                f'"{name}"(...) : (...) -> (...)',
                name_token,
            )
        inputs, outputs = self.attrs.function_type(type_node)
        self._check_counts(info, len(inputs), len(outputs), name_token)
        operands = self.operands(operand_node, inputs, name)
        entries = self.attrs.dictionary(attr_node)
        properties, attributes = self.split_entries(info, entries, attr_node)
        op = info.op_class.create(
            operands=operands,
            result_types=outputs,
            properties=properties,
            attributes=attributes,
            location=self.location(results.children[0] if results else name_token),
        )
        self.results(results, op)
        return op

    def _check_counts(self, info: _OpInfo, inputs: int, outputs: int, token: Token) -> None:
        name = info.op_class.name
        if info.operand_names is not None and inputs != len(info.operand_names):
            raise TreeError(
                f"{name} takes {len(info.operand_names)} operand(s) "
                f"({', '.join(info.operand_names)}), but its signature lists {inputs}",
                token,
            )
        if info.result_names is not None and outputs != len(info.result_names):
            raise TreeError(
                f"{name} has {len(info.result_names)} result(s) "
                f"({', '.join(info.result_names)}), but its signature lists {outputs}",
                token,
            )

    def generic_op(self, node: Tree) -> Operation:
        """``%r = "dialect.op"(%a) [^bb] <{props}> ({...}) {attrs} : (T) -> R`` for any op."""
        (
            results,
            name_token,
            operand_node,
            successor_node,
            property_node,
            region_node,
            attr_node,
            type_node,
        ) = node.children
        name = decode_string(name_token)
        info = self.op_info(name, name_token)
        inputs, outputs = self.attrs.function_type(type_node)
        self._check_counts(info, len(inputs), len(outputs), name_token)
        operands = self.operands(operand_node, inputs, name)
        properties: dict[str, Attribute] = {}
        if property_node is not None:
            properties = self.attrs.dictionary(property_node.children[0])
            unknown = sorted(set(properties) - info.properties)
            if unknown and issubclass(info.op_class, IRDLOperation):
                known = ", ".join(sorted(info.properties)) or "none"
                raise TreeError(
                    f"{name} has no property '{unknown[0]}' (its properties: {known})",
                    property_node,
                )
        moved, attributes = self.split_entries(info, self.attrs.dictionary(attr_node), attr_node)
        for key in moved:
            if key in properties:
                raise TreeError(f"'{key}' is given both as a property and an attribute", node)
        properties |= moved
        successors = []
        if successor_node is not None:
            successors = [self.block_ref(token) for token in successor_node.children]
        regions = []
        if region_node is not None:
            isolated = info.op_class.has_trait(IsolatedFromAbove)
            is_function = info.op_class is func.FuncOp
            if is_function:
                signature = properties.get("function_type")
                outputs_of_function = (
                    list(signature.outputs.data) if isinstance(signature, FunctionType) else []
                )
                symbol = properties.get("sym_name")
                self.functions.append(
                    (symbol.data if isinstance(symbol, StringAttr) else "?", outputs_of_function)
                )
            regions = [self.region(r, isolated=isolated) for r in region_node.children]
            if is_function:
                self.functions.pop()
        op = info.op_class.create(
            operands=operands,
            result_types=outputs,
            properties=properties,
            attributes=attributes,
            successors=successors,
            regions=regions,
            location=self.location(results.children[0] if results else name_token),
        )
        self.results(results, op)
        return op

    def module_op(self, node: Tree) -> ModuleOp:
        """``builtin.module @name attributes {...} { ... }``."""
        keyword, symbol, attr_node, *body = node.children
        self.scopes.append(_Scope(isolated=True, node=node))
        saved_symbols, self.symbols = self.symbols, {}
        block = Block()
        self.ops_into(block, body)
        self.symbols = saved_symbols
        self.scopes.pop()
        name = StringAttr(self.symbol_name(symbol)) if symbol is not None else None
        module = ModuleOp(Region(block), self.attrs.dictionary(attr_node), name)
        module.location = self.location(keyword)
        return module

    def symbol_name(self, token: Token) -> str:
        """The name of an ``@symbol`` token."""
        if token.value.startswith('@"'):
            return decode_string(token)
        return token.value[1:]

    def func_op(self, node: Tree) -> func.FuncOp:
        """``func.func [private] @name(%a: T, ...) -> (R, ...) attributes {...} { body }``."""
        keyword, visibility, symbol, arg_node, result_node, attr_node, body = node.children
        name = self.symbol_name(symbol)
        if name in self.symbols:
            first = self.symbols[name]
            raise TreeError(f"redefinition of @{name} (first defined at line {first.line})", symbol)
        self.symbols[name] = symbol
        args = _func_args(arg_node)
        arg_types = [self.attrs.type(type_node) for _, type_node, _ in args]
        arg_attrs = [self.attrs.dictionary(attr_node) for _, _, attr_node in args]
        named = [name is not None for name, _, _ in args]
        if body is not None and not all(named):
            raise TreeError(
                f"the arguments of @{name} need names (%x: T) because it has a body", symbol
            )
        result_types, result_attrs = self.func_results(result_node)
        function_type = FunctionType.from_lists(arg_types, result_types)
        region = Region()
        if body is not None:
            self.functions.append((name, result_types))
            region = self.region(
                body,
                isolated=True,
                entry_types=arg_types,
                entry_names=[name for name, _, _ in args],
            )
            self.functions.pop()
            self._check_terminated(region, name, node)
        properties, attributes = self.split_entries(
            self.op_info("func.func", keyword), self.attrs.dictionary(attr_node), attr_node
        )
        op = func.FuncOp(
            name,
            function_type,
            region,
            visibility.value if visibility is not None else None,
            arg_attrs=_dict_array(arg_attrs),
            res_attrs=_dict_array(result_attrs),
        )
        op.properties |= properties
        op.attributes |= attributes
        op.location = self.location(keyword)
        return op

    def func_results(self, node: Tree | None) -> tuple[list[Attribute], list[dict]]:
        """Result types and result attribute dictionaries of a ``func.func``."""
        if node is None:
            return [], []
        children = node.children
        if len(children) == 1 and isinstance(children[0], Token):
            if children[0].type == "TENSOR_TUPLE":
                types = self.attrs.types(children[0])
                return types, [{}] * len(types)
            return [self.attrs.type(children[0])], [{}]
        results = [child for child in children if child is not None]
        types = [self.attrs.type(result.children[0]) for result in results]
        return types, [self.attrs.dictionary(result.children[1]) for result in results]

    def _check_terminated(self, region: Region, name: str, node: Tree) -> None:
        block = region.blocks.first
        last = None if block is None else block.last_op
        if not isinstance(last, func.ReturnOp):
            raise TreeError(f"the body of @{name} must end with func.return", node.children[2])

    def return_op(self, node: Tree) -> func.ReturnOp:
        """``func.return %a, %b : T, T``, checked against the function's result types."""
        keyword, operand_node, type_node = node.children
        types = self.attrs.types(type_node)
        values = self.operands(operand_node, types, "func.return")
        if not self.functions:
            raise TreeError("func.return outside a function", keyword)
        name, expected = self.functions[-1]
        if len(values) != len(expected):
            raise TreeError(
                f"func.return returns {len(values)} value(s), but @{name} declares "
                f"{len(expected)} result(s) ({', '.join(map(str, expected)) or 'none'})",
                keyword,
            )
        for position, (value, result_type) in enumerate(zip(values, expected, strict=True)):
            if value.type != result_type:
                token = _expand(operand_node.children)[position]
                raise TreeError(
                    f"func.return value {position + 1} ({token.value}) is {value.type}, but "
                    f"@{name} declares result {position + 1} as {result_type}",
                    token,
                )
        return func.ReturnOp.create(operands=values, location=self.location(keyword))

    # ---- regions and blocks -----------------------------------------------------------------

    def region(
        self,
        node: Tree,
        *,
        isolated: bool,
        entry_types: list[Attribute] | None = None,
        entry_names: list[Token | None] | None = None,
    ) -> Region:
        """A region: the ops before the first label form the entry block."""
        scope = _Scope(isolated=isolated, node=node)
        self.scopes.append(scope)
        entry_ops = [c for c in node.children if c.data != "block"]
        labeled = [c for c in node.children if c.data == "block"]
        blocks: list[Block] = []
        if entry_ops or entry_types is not None:
            entry = Block(arg_types=entry_types or [])
            for token, arg in zip(entry_names or [], entry.args, strict=False):
                if token is not None:
                    self.define(token, [arg])
            blocks.append(entry)
            self.ops_into(entry, entry_ops)
        for block_node in labeled:
            blocks.append(self.block(block_node))
        missing = sorted(set(scope.blocks) - scope.defined_blocks)
        if missing:
            raise TreeError(f"use of undefined block ^{missing[0]}", scope.block_uses[missing[0]])
        self.scopes.pop()
        return Region(blocks)

    def block_ref(self, token: Token) -> Block:
        """The block a BLOCK token names in the current region (created on first mention)."""
        scope = self.scopes[-1]
        name = token.value[1:]
        block = scope.blocks.get(name)
        if block is None:
            block = scope.blocks[name] = Block()
            scope.block_uses[name] = token
        return block

    def block(self, node: Tree) -> Block:
        """``^name(%a: T, ...): ops``."""
        label, arg_node, *ops = node.children
        scope = self.scopes[-1]
        name = label.value[1:]
        if name in scope.defined_blocks:
            raise TreeError(f"redefinition of block ^{name}", label)
        block = self.block_ref(label)
        scope.defined_blocks.add(name)
        for arg in [] if arg_node is None else arg_node.children:
            value_token, type_node = arg.children
            value = block.insert_arg(self.attrs.type(type_node), len(block.args))
            self.define(value_token, [value])
        self.ops_into(block, ops)
        return block


_COMPOUNDS = ("VALUE_LIST", "ARG_TUPLE")


def _expand(children: list) -> list:
    """Children with VALUE_LIST and ARG_TUPLE tokens replaced by their parts."""
    if not any(isinstance(c, Token) and c.type in _COMPOUNDS for c in children):
        return children
    expanded = []
    for child in children:
        if isinstance(child, Token) and child.type in _COMPOUNDS:
            expanded += compound_parts(child)
        else:
            expanded.append(child)
    return expanded


def _func_args(node: Tree | Token | None) -> list[tuple[Token | None, Token | Tree, Tree | None]]:
    """Name token (or None), type and attribute dictionary of each argument of a func.func."""
    if node is None:
        return []
    if isinstance(node, Token):  # ARG_TUPLE: a VALUE and a TENSOR per argument
        parts = compound_parts(node)
        return [(parts[i], parts[i + 1], None) for i in range(0, len(parts), 2)]
    return [tuple(arg.children) for arg in node.children]  # type: ignore[misc]


def _definitions(node: Tree | None, value: str) -> list[Token]:
    """The tokens that define ``value`` (``%name``) anywhere inside ``node``."""
    if node is None:
        return []
    return [
        token
        for subtree in node.iter_subtrees_topdown()
        if subtree.data in ("results", "block_arg", "func_arg", "func_op")
        for token in _expand(subtree.children)
        if isinstance(token, Token) and token.type == "VALUE" and token.value == value
    ]


def _entry(attr_dict: Tree | None, name: str) -> Tree | Token | None:
    """The entry called ``name`` in an ``attr_dict`` subtree (for error positions)."""
    if attr_dict is None:
        return None
    children = attr_dict.children
    if len(children) == 1 and isinstance(children[0], Token):  # an ATTR_DICT token
        return next((n for n, _ in attr_entries(children[0]) if n.value == name), attr_dict)
    for entry in children:
        if entry is not None and entry.children[0].value.strip('"') == name:
            return entry
    return attr_dict


def _location(filename: StringAttr, line: IntAttr, column: IntAttr) -> FileLineColLoc:
    """``FileLineColLoc(filename, line, column)`` without checking its parameters again.

    The constructor verifies that the parameters are a string and two integers,
    which they are by their types; skipping that makes building a large module
    a sixth faster. The result equals what the constructor builds (a test says so).
    """
    location = FileLineColLoc.__new__(FileLineColLoc)
    object.__setattr__(location, "filename", filename)
    object.__setattr__(location, "line", line)
    object.__setattr__(location, "column", column)
    return location


def _dict_array(entries: list[dict]) -> ArrayAttr[DictionaryAttr] | None:
    if not any(entries):
        return None
    return ArrayAttr([DictionaryAttr(e) for e in entries])
