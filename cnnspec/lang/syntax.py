"""Text to syntax tree: the lark LALR parser (cnnspec.lark, beside this file) and its errors re-worded.

The syntax tree keeps names and expressions as written (nothing evaluated, no registry lookups);
`resolve` turns it into the IR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import CnnspecError, Source, Span, point_span

# Bounds checked before parsing, so that no text, however long or deep, costs more than a moment: a spec (with
# the files it imports) holds at most SPEC_LIMIT characters (the largest in specs/ holds 3,100), and its
# brackets nest at most NESTING_LIMIT deep (a real network nests fewer than 10).
SPEC_LIMIT = 32 * 1024
NESTING_LIMIT = 50
_BRACKETS = re.compile(r"""#[^\n]*|"[^"\n]*"|'[^'\n]*'|[(\[{]|[)\]}]""")

# ----------------------------------------------------------------------------------------- tree
#
# The syntax tree is lark's own: `Tree(data, children)` nodes named after the grammar's rules, with
# `meta` positions, and `Token`s. Nothing is evaluated and nothing is looked up; `resolve` walks it.


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed .cnn file: its lark tree (statements in order, then the network chain, if any)."""

    tree: object = field(compare=False, repr=False)
    source: Source = field(compare=False, repr=False)


def span_of(node, source: Source) -> Span:
    """Where a tree node or token is in the source."""
    if hasattr(node, "meta"):
        m = node.meta
        return Span(source, m.start_pos, m.end_pos, m.line, m.column, m.end_line, m.end_column)
    return Span(source, node.start_pos, node.end_pos, node.line, node.column, node.end_line, node.end_column)


# --------------------------------------------------------------------------------------- parser


@lru_cache(maxsize=None)
def _parser():
    from lark import Lark

    # cache=True keeps the built LALR tables in the temp directory, so later processes skip building them.
    return Lark.open_from_package(
        "cnnspec.lang", "cnnspec.lark", parser="lalr", start=["start", "value"],
        propagate_positions=True, cache=True,
    )


# What a person would type for each terminal, for "expected …" messages.
_TOKEN_WORDS = {
    "ARROW": "`->`", "STAR": "`*`", "FLOORDIV": "`//`", "SLASH": "`/`", "PERCENT": "`%`",
    "PLUS": "`+`", "MINUS": "`-`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "LBRACE": "`{`", "RBRACE": "`}`", "VBAR": "`|`", "COLON": "`:`", "COMPARE": "a comparison",
    "COMMA": "`,`", "EQUAL": "`=`", "NAME": "a name", "INT": "a number", "FLOAT": "a number",
    "STRING": "a quoted file name", "LET": "`let`", "DEFAULT": "`default`", "BLOCK": "`block`",
    "IMPORT": "`import`", "IF": "`if`", "ELSE": "`else`", "AND": "`and`", "OR": "`or`", "NOT": "`not`",
    "AT": "`@`", "BY": "`by`", "$END": "end of input",
}
# Terminal groups that read as one thing to a user.
_VALUE_START = {"INT", "FLOAT", "NAME", "STRING", "LPAR", "MINUS", "PLUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "FLOORDIV", "SLASH", "PERCENT"}
_EXPRESSION_WORDS = {"COMPARE", "IF", "AND", "OR"}
_STATEMENTS = {"LET", "DEFAULT", "BLOCK", "IMPORT"}


def _describe_expected(expected: set[str]) -> str:
    expected = set(expected)
    words: list[str] = []
    if _VALUE_START <= expected:
        expected -= _VALUE_START
        words.append("a value")
    if _OPERATORS <= expected:
        expected -= _OPERATORS | _EXPRESSION_WORDS
        words.append("an operator")
    if _STATEMENTS <= expected and "NAME" in expected:
        expected -= _STATEMENTS
    if {"NAME", "LSQB"} <= expected:  # where a chain item may start (or `@name`, or a number or quoted label, which only
        expected -= {"NAME", "LSQB", "AT", "INT", "STRING"}  # the importer's names write)
        words.append("a layer or `[`")
    if "INT" in expected and "FLOAT" in expected:
        expected.discard("FLOAT")
    order = ["RPAR", "RSQB", "COMMA", "ARROW", "EQUAL", "LPAR", "LSQB", "NAME", "INT", "FLOAT", "STRING", "STAR",
             "$END"]
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
        if exc.token.type in _STATEMENTS:  # a statement written after the network
            return CnnspecError(f"`{exc.token}` statements come before the network: move this one above the "
                                "line that starts with INPUT(...)", _span_of_token(source, exc.token))
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
        return CnnspecError(f"expected {_describe_expected(set(exc.expected))} but found end of input",
                            _end_span(source))
    return CnnspecError(str(exc), point_span(source, 0))


def parse(text: str, path: str = "<string>", *, limit: int = SPEC_LIMIT) -> Program:
    """Parse the text of a .cnn file into a `Program` (raises CnnspecError with a position).

    `limit` is the most characters it may hold (what is left of SPEC_LIMIT for a file being imported).
    """
    source = Source(path, text)
    if len(text) > limit:
        raise CnnspecError(f"the spec is {len(text):,} characters long, more than the {limit:,} a spec and the files "
                           "it imports may hold together", path=path)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise CnnspecError("the spec is empty: it needs at least a network such as `INPUT(1, 28, 28) -> FC(10)`",
                           point_span(source, 0))
    return Program(_parse_tree(text, source, "start"), source)


def parse_value(text: str, path: str = "--set") -> Program:
    """Parse one expression, as given on the command line to `--set NAME=VALUE`."""
    source = Source(path, text)
    if not text.strip():
        raise CnnspecError("expected a value", point_span(source, 0))
    if len(text) > SPEC_LIMIT:
        raise CnnspecError(f"the value is {len(text):,} characters long, more than the {SPEC_LIMIT:,} a spec may "
                           "hold", path=path)
    return Program(_parse_tree(text, source, "value").children[0], source)


def _parse_tree(text: str, source: Source, start: str):
    from lark.exceptions import UnexpectedInput

    _check_nesting(source)
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _translate(exc, source) from None


def _check_nesting(source: Source) -> None:
    """Refuse brackets nested deeper than NESTING_LIMIT (comments and quoted names aside), pointing at the first
    bracket too deep, before the parser and the walks after it recurse that deep."""
    depth = 0
    for match in _BRACKETS.finditer(source.text):
        char = match.group()[0]
        if char in "([{":
            depth += 1
            if depth > NESTING_LIMIT:
                raise CnnspecError(f"brackets nest more than {NESTING_LIMIT} levels deep here; a spec nests at most "
                                   f"{NESTING_LIMIT} (parentheses, `[…]` and `{{…}}` together)",
                                   point_span(source, match.start()))
        elif char in ")]}":
            depth = max(depth - 1, 0)
