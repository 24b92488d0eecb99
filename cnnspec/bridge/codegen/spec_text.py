"""What codegen writes of the spec's own text: the expression written for an argument (from its span), the
comments that quote the spec (`# line 4: CONV(6, k=5, p=2)`), and the spec's leading comment. Nothing is parsed
again here: a block call's arguments and a repeat's count come with the IR."""

from __future__ import annotations

import os
import re

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
    open_at, close_at = text.find("("), _closing_parenthesis(text)
    if close_at is not None:  # the first call's arguments, cut after a comma: `bottleneck(planes, …)`
        rest = text[close_at + 1:]
        cut = text.rfind(", ", 0, max(width - len(rest) - 4, open_at + 1))
        if cut > open_at:
            return text[:cut] + ", …)" + rest
    return text[: width - 1] + "…"


def _closing_parenthesis(text: str) -> int | None:
    """Where the first parenthesis of `text` closes, or None."""
    depth, open_at = 0, text.find("(")
    for index in range(max(open_at, 0), len(text) if open_at >= 0 else 0):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return None


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
