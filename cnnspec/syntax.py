"""Text to syntax tree: the lark LALR parser, its errors re-worded, and the tree as frozen dataclasses.

The syntax tree keeps names and expressions as written (nothing evaluated, no registry lookups);
`resolve` turns it into the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from .errors import CnnspecError, Source, Span, point_span

# ----------------------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Num:
    value: int | float
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class TupleExpr:
    items: tuple[Expr, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # + - * // / %
    left: Expr
    right: Expr
    span: Span = field(compare=False)
    op_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr
    span: Span = field(compare=False)


Expr = Union[Num, Name, Str, TupleExpr, BinOp, Neg]


@dataclass(frozen=True, slots=True)
class ArgNode:
    name: str | None  # None for a positional argument
    value: Expr
    span: Span = field(compare=False)
    name_span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LayerCall:
    name: str
    args: tuple[ArgNode, ...]
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Group:
    chain: Chain
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Repeat:
    body: LayerCall | Group
    count: Expr
    span: Span = field(compare=False)


Item = Union[LayerCall, Group, Repeat]


@dataclass(frozen=True, slots=True)
class Chain:
    items: tuple[Item, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: Expr
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Default:
    kind: str
    args: tuple[ArgNode, ...]
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed .cnn file: statements in order, then the network chain."""

    statements: tuple[Let | Default, ...]
    chain: Chain
    source: Source = field(compare=False, repr=False)


# --------------------------------------------------------------------------------------- parser


@lru_cache(maxsize=None)
def _parser():
    from lark import Lark

    # cache=True keeps the built LALR tables in the temp directory, so later processes skip building them.
    return Lark.open_from_package(
        "cnnspec.grammars", "cnnspec.lark", parser="lalr", start=["start", "value"],
        propagate_positions=True, cache=True,
    )


# What a person would type for each terminal, for "expected …" messages.
_TOKEN_WORDS = {
    "ARROW": "`->`", "STAR": "`*`", "FLOORDIV": "`//`", "SLASH": "`/`", "PERCENT": "`%`",
    "PLUS": "`+`", "MINUS": "`-`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "EQUAL": "`=`", "NAME": "a name", "INT": "a number", "FLOAT": "a number",
    "STRING": "a quoted word", "LET": "`let`", "DEFAULT": "`default`", "$END": "end of input",
}
# Terminal groups that read as one thing to a user.
_VALUE_START = {"INT", "FLOAT", "NAME", "STRING", "LPAR", "MINUS", "PLUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "FLOORDIV", "SLASH", "PERCENT"}


def _describe_expected(expected: set[str]) -> str:
    expected = set(expected)
    words: list[str] = []
    if _VALUE_START <= expected:
        expected -= _VALUE_START
        words.append("a value")
    if _OPERATORS <= expected:
        expected -= _OPERATORS
        words.append("an operator")
    if {"LET", "DEFAULT"} <= expected and "NAME" in expected:
        expected -= {"LET", "DEFAULT"}
    if {"NAME", "LSQB"} <= expected:  # where a chain item may start
        expected -= {"NAME", "LSQB"}
        words.append("a layer or `[`")
    if "INT" in expected and "FLOAT" in expected:
        expected.discard("FLOAT")
    order = ["RPAR", "RSQB", "COMMA", "ARROW", "EQUAL", "LPAR", "LSQB", "NAME", "INT", "FLOAT", "STRING", "STAR", "$END"]
    for name in sorted(expected, key=lambda n: (order.index(n) if n in order else len(order), n)):
        words.append(_TOKEN_WORDS.get(name, f"`{name}`"))
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe_token(token) -> str:
    if token.type == "$END":
        return "end of input"
    if token.type in ("INT", "FLOAT"):
        return f"the number `{token}`"
    if token.type == "NAME":
        return f"`{token}`"
    return f"`{token}`"


def _span_of_token(source: Source, token) -> Span:
    if token.type == "$END" or token.start_pos is None:
        return _end_span(source)
    return Span(source, token.start_pos, token.end_pos, token.line, token.column, token.end_line, token.end_column)


def _end_span(source: Source) -> Span:
    """Where "end of input" is reported: just after the last non-blank, non-comment character."""
    text = source.text
    offset = len(text.rstrip())
    # Step back over a trailing comment line so the caret lands after the last real token.
    lines = text[:offset].split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")) and len(lines) > 1:
        lines.pop()
    offset = len("\n".join(lines).rstrip())
    line = len(lines)
    column = len(lines[-1].rstrip()) + 1 if lines else 1
    return Span(source, offset, offset + 1, line, column, line, column + 1)


def _translate(exc, source: Source) -> CnnspecError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        found = _describe_token(exc.token)
        expected = _describe_expected(exc.accepts or exc.expected)
        return CnnspecError(f"expected {expected} but found {found}", _span_of_token(source, exc.token))
    if isinstance(exc, UnexpectedCharacters):
        span = point_span(source, exc.pos_in_stream)
        char = source.text[exc.pos_in_stream] if exc.pos_in_stream < len(source.text) else ""
        # lark's lexer-level "allowed" set is wider than what may follow here, so name only the character.
        what = f"unexpected character `{char}`" if char.isprintable() and char.strip() else \
            f"unexpected character U+{ord(char):04X}"
        return CnnspecError(what, span)
    if isinstance(exc, UnexpectedEOF):
        return CnnspecError(f"expected {_describe_expected(set(exc.expected))} but found end of input", _end_span(source))
    return CnnspecError(str(exc), point_span(source, 0))


def parse(text: str, path: str = "<string>") -> Program:
    """Parse the text of a .cnn file into a `Program` (raises CnnspecError with a position)."""
    source = Source(path, text)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise CnnspecError("the spec is empty: it needs at least a network such as `INPUT(1, 28, 28) -> FC(10)`",
                           point_span(source, 0))
    tree = _parse_tree(text, source, "start")
    return _Builder(source).program(tree)


def parse_value(text: str, path: str = "--set") -> Expr:
    """Parse one expression, as given on the command line to `--set NAME=VALUE`."""
    source = Source(path, text)
    if not text.strip():
        raise CnnspecError("expected a value", point_span(source, 0))
    tree = _parse_tree(text, source, "value")
    return _Builder(source).expr(tree.children[0])


def _parse_tree(text: str, source: Source, start: str):
    from lark.exceptions import UnexpectedInput

    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _translate(exc, source) from None


# -------------------------------------------------------------------------- lark tree → dataclasses


class _Builder:
    def __init__(self, source: Source):
        self.source = source

    def span(self, node) -> Span:
        meta = node.meta if hasattr(node, "meta") else node
        if hasattr(node, "start_pos") and not hasattr(node, "meta"):
            return Span(self.source, node.start_pos, node.end_pos, node.line, node.column, node.end_line, node.end_column)
        return Span(self.source, meta.start_pos, meta.end_pos, meta.line, meta.column, meta.end_line, meta.end_column)

    def program(self, tree) -> Program:
        *statements, chain = tree.children
        return Program(tuple(self.statement(s) for s in statements), self.chain(chain), self.source)

    def statement(self, node):
        if node.data == "let_stmt":
            name, value = node.children
            return Let(str(name), self.expr(value), self.span(node), self.span(name))
        name, *rest = node.children
        args = self.call_args(rest[0]) if rest and rest[0] is not None else ()
        return Default(str(name), args, self.span(node), self.span(name))

    def chain(self, node) -> Chain:
        items = tuple(self.item(child) for child in node.children if not _is_token(child, "ARROW"))
        return Chain(items, self.span(node))

    def item(self, node) -> Item:
        if node.data == "repeat":
            body, _star, count = node.children
            return Repeat(self.item(body), self.expr(count), self.span(node))
        if node.data == "group":
            return Group(self.chain(node.children[0]), self.span(node))
        name, *rest = node.children
        args = self.call_args(rest[0]) if rest and rest[0] is not None else ()
        return LayerCall(str(name), args, self.span(node), self.span(name))

    def call_args(self, node) -> tuple[ArgNode, ...]:
        args = []
        for child in node.children:
            if child is None:
                continue
            if child.data == "keyword_arg":
                name, value = child.children
                args.append(ArgNode(str(name), self.expr(value), self.span(child), self.span(name)))
            else:
                args.append(ArgNode(None, self.expr(child.children[0]), self.span(child)))
        return tuple(args)

    def expr(self, node) -> Expr:
        from lark import Token

        if isinstance(node, Token):  # a bare terminal can reach here only through `value`
            raise AssertionError(f"unexpected token {node!r}")
        kind = node.data
        span = self.span(node)
        if kind == "int":
            return Num(int(str(node.children[0]).replace("_", "")), span)
        if kind == "float":
            return Num(float(node.children[0]), span)
        if kind == "name":
            return Name(str(node.children[0]), span)
        if kind == "string":
            return Str(str(node.children[0])[1:-1], span)
        if kind == "tuple":
            return TupleExpr(tuple(self.expr(c) for c in node.children if c is not None), span)
        if kind == "neg":
            return Neg(self.expr(node.children[1]), span)
        if kind == "pos":
            return self.expr(node.children[1])
        if kind == "binop":
            left, op, right = node.children
            return BinOp(str(op), self.expr(left), self.expr(right), span, self.span(op))
        if kind == "value":
            return self.expr(node.children[0])
        raise AssertionError(f"unknown expression node {kind}")


def _is_token(node, type_: str) -> bool:
    return getattr(node, "type", None) == type_
