"""What codegen reads from the spec's own text: the expression written for an argument, a block call's
arguments, a repeat's count, and the comments that quote the spec (`# line 4: CONV(6, k=5, p=2)`)."""

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


def call_arguments(text: str, names: list) -> dict | None:
    """The argument texts of a block call `name(a, b, k=c)` (or `name`), by parameter name."""
    text = re.sub(r"^\s*[A-Za-z_]\w*\s*:\s*", "", text)
    match = re.match(r"^\s*[A-Za-z_]\w*\s*\((.*)\)\s*$", text, re.S)
    if match is None:
        return {} if re.match(r"^\s*[A-Za-z_]\w*\s*$", text) else None
    given = {}
    position = 0
    for part in _split_top_level(match.group(1)):
        keyed = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", part, re.S)
        if keyed:
            given[keyed.group(1)] = keyed.group(2).strip()
        else:
            if position >= len(names):
                return None
            given[names[position]] = part.strip()
            position += 1
    return given


def count_text(text: str) -> str | None:
    """The count of a repeat written `[chain] * COUNT`, `label: [chain] * COUNT` or `name(args) * COUNT`."""
    text = re.sub(r"^\s*[A-Za-z_]\w*\s*:\s*", "", text)
    depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in "*×" and depth == 0:
            return text[i + 1:].strip()
    return None


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
    open_at = text.find("(")
    close_at = _matching_paren(text, open_at) if open_at >= 0 else None
    if close_at is not None:
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


def _matching_paren(line: str, start: int) -> int | None:
    depth, in_string = 0, None
    for i in range(start, len(line)):
        char = line[i]
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _split_top_level(text: str) -> list[str]:
    parts, depth, current, in_string = [], 0, "", None
    for char in text:
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0 and not in_string:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts
