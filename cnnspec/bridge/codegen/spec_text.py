"""What codegen reads from the spec's own text, with the spec's own parser: the expression written for an
argument, a block call's arguments, a repeat's count, and the comments that quote the spec
(`# line 4: CONV(6, k=5, p=2)`)."""

from __future__ import annotations

import os
import re
from functools import cache

from ...lang.errors import CnnspecError
from ...lang.syntax import parse
from .tree import LayerItem, ScopeItem


def arg_text(node, name: str) -> str | None:
    """The expression the spec wrote for argument `name` of a layer, if it is written in the layer itself."""
    arg = node.arg(name)
    if arg is None or arg.span is None or node.span is None:
        return None
    span = arg.span
    if span.source is not node.span.source or not (node.span.start < span.start and span.end <= node.span.end):
        return None  # from a `default` statement, or an alias's preset (GAP's output 1)
    return re.sub(r"^\s*[A-Za-z_]\w*\s*=(?!=)", "", span.text).strip()


def call_arguments(text: str, names: list) -> dict | None:
    """The argument texts of a block call `name(a, b, k=c)` (or `name`), by parameter name."""
    unit = _unit(text)
    if unit is None or unit.data != "layer":
        return None
    given = {}
    position = 0
    for arg in unit.children[1].children if len(unit.children) > 1 else ():
        if arg is None:  # `name()`
            continue
        if arg.data == "keyword_arg":
            name = arg.children[0]
            given[str(name)] = text[name.end_pos:arg.meta.end_pos].strip().removeprefix("=").strip()
        else:
            if position >= len(names):
                return None
            given[names[position]] = text[arg.meta.start_pos:arg.meta.end_pos]
            position += 1
    return given


def count_text(text: str) -> str | None:
    """The count of a repeat written `[chain] * COUNT`, `label: [chain] * COUNT` or `name(args) * COUNT`."""
    unit = _unit(text)
    if unit is None or unit.data != "repeat":
        return None
    star = unit.children[1]
    return text[star.end_pos:unit.meta.end_pos].strip()


@cache  # a block's calls and comments read the same texts again and again
def _unit(text: str):
    """The parse tree of the one chain item `text` writes, without its label; None if it writes no such item."""
    try:
        chain = parse(text).tree.children[-1]
    except CnnspecError:
        return None
    if chain.data != "chain" or len(chain.children) != 1:
        return None
    return chain.children[0].children[-1]


def line_comment(item, home: str, main_path: str) -> str:
    """`line 4: CONV(6, k=5, p=2)` for a layer, a block call, a group or a labelled repeat (the line number
    in `home`, the file of the class it is written in; another file's is named)."""
    if isinstance(item, LayerItem):
        report, node = item.report, item.node
        text = report.text if not item.branches else node.text
        if node.label and not text.startswith(node.label + ":"):
            text = f"{node.label}: {text}"
        span = node.span
    elif isinstance(item, ScopeItem):
        report = item.scope.report
        text = report.text
        span = getattr(item.scope.node, "span", None)
    else:
        report = item.report
        text = report.text
        span = item.node.span
    path = span.source.path if span is not None else main_path
    where = f"line {report.line}"
    if path and home and os.path.normpath(path) != os.path.normpath(home):
        where += f" of {os.path.basename(path)}"
    if not isinstance(item, LayerItem):  # a block call or a group: its first words are enough
        text = shorten(text, max(78 - len(where), 30))
    return f"{where}: {text}"


def shorten(text: str, width: int) -> str:
    """A long group's or call's text cut short: `features: [conv0: CONV(…) -> …]`, `bottleneck(planes, …)`."""
    if len(text) <= width:
        return text
    cut = text.rfind(" -> ", 0, width)
    if cut > 0:
        return text[:cut] + " -> …" + ("]" if text.endswith("]") else "")
    unit = _unit(text)
    calls = (node for node in unit.iter_subtrees_topdown() if node.data == "call_args") if unit is not None else ()
    call = next(calls, None)
    if call is not None:  # the first call's arguments, cut after a comma: `bottleneck(planes, …)`
        open_at, close_at = call.meta.start_pos, call.meta.end_pos - 1
        rest = text[close_at + 1:]
        cut = text.rfind(", ", 0, max(width - len(rest) - 4, open_at + 1))
        if cut > open_at:
            return text[:cut] + ", …)" + rest
    return text[: width - 1] + "…"


def leading_comment(text: str) -> str:
    """The comment lines at the top of the spec, joined (the description its author wrote)."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped:
            break
        elif lines:
            break
    return " ".join(line for line in lines if line)
