"""Generated source laid out: lines of code with the comments that quote the spec, within 99 columns."""

from __future__ import annotations

import re

LINE_LIMIT = 99
INDENT = "    "


class Sequential(str):
    """An `nn.Sequential(...)` expression, kept as its elements so that it can be laid out with comments."""

    def __new__(cls, elements):
        text = "nn.Sequential(" + ", ".join(expr for _, expr, _ in elements) + ")"
        obj = super().__new__(cls, text)
        obj.elements = elements
        return obj


def expression_lines(prefix: str, expr, suffix: str, comment: str | None) -> list:
    """Lines (text, comment) for `prefix + expr + suffix`; an nn.Sequential gets one element per line."""
    if isinstance(expr, Sequential):
        lines: list = [("", comment)] if comment else []
        lines.extend(call_block(prefix + "nn.Sequential(", expr.elements, ")" + suffix))
        return lines
    return [(prefix + str(expr) + suffix, comment)]


def call_block(opening: str, elements: list, closing: str) -> list:
    """`opening` then one element per line (indented, with its comment), then `closing`."""
    if not elements:
        return [(opening + closing, None)]
    lines: list = [(opening, None)]
    for _name, expr, comment in elements:
        lines.extend(nest(expression_lines("", expr, ",", comment)))
    lines.append((closing, None))
    return lines


def nest(lines: list) -> list:
    """The lines one level deeper."""
    return [INDENT + entry if isinstance(entry, str) else (INDENT + entry[0], entry[1]) for entry in lines]


def indent(lines: list, level: int) -> list[str]:
    """Render lines (text or (text, comment)) at an indentation level, within the line limit: a comment
    goes after its code when it fits, else on the line above."""
    out: list[str] = []
    pad = INDENT * level
    for entry in lines:
        text, comment = (entry, None) if isinstance(entry, str) else entry
        if not text.strip():
            if comment:
                out.extend(comment_lines(pad + text, comment))
            else:
                out.append("")
            continue
        line = pad + text
        if comment:
            trailing = f"{line}  # {comment}"
            if len(trailing) <= LINE_LIMIT:
                out.append(trailing)
                continue
            out.extend(comment_lines(pad + text[: len(text) - len(text.lstrip(" "))], comment))
        out.extend(wrap_code(line))
    return out


def comment_lines(pad: str, comment: str) -> list[str]:
    width = LINE_LIMIT - len(pad) - 2
    return [f"{pad}# {chunk}" if i == 0 else f"{pad}#   {chunk}"
            for i, chunk in enumerate(wrap_text(comment, width, later_width=width - 2))]


def wrap_text(text: str, width: int, later_width: int | None = None) -> list[str]:
    later_width = later_width or width
    words = text.split(" ")
    lines, current = [], ""
    for word in words:
        limit = width if not lines else later_width
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def wrap_code(line: str) -> list[str]:
    """A line of code over the limit, broken inside its outermost call's parentheses (hanging indent)."""
    if len(line) <= LINE_LIMIT:
        return [line]
    pad = line[: len(line) - len(line.lstrip(" "))]
    open_at = first_open_paren(line)
    if open_at is None or not line.rstrip().endswith((")", "),", "))")):
        return [line]
    close_at = matching_paren(line, open_at)
    if close_at is None:
        return [line]
    head, inner, tail = line[: open_at + 1], line[open_at + 1: close_at], line[close_at:]
    args = split_top_level(inner)
    inner_pad = pad + INDENT
    lines = [head]
    current = ""

    def flush(text):
        if len(inner_pad + text) <= LINE_LIMIT:
            lines.append(inner_pad + text)
        elif text.rstrip(",").endswith(")") and first_open_paren(text) is not None:
            lines.extend(wrap_code(inner_pad + text))
        else:  # one long expression: in parentheses, broken before its `if` and `else`
            parts = re.split(r" (?=(?:if|else) )", text.rstrip(","))
            lines.append(inner_pad + "(")
            lines.extend(inner_pad + INDENT + part for part in parts)
            lines.append(inner_pad + ")" + ("," if text.endswith(",") else ""))

    for i, arg in enumerate(args):
        piece = arg.strip() + ("," if i < len(args) - 1 else "")
        if current and len(inner_pad) + len(current) + 1 + len(piece) > LINE_LIMIT:
            flush(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        flush(current)
    lines.append(pad + tail.lstrip())
    return lines


def first_open_paren(line: str) -> int | None:
    in_string = None
    for i, char in enumerate(line):
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char == "(":
            return i
    return None


def matching_paren(line: str, start: int) -> int | None:
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


def split_top_level(text: str) -> list[str]:
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


def wrap_def(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    open_at = line.index("(")
    args = split_top_level(line[open_at + 1: line.rindex(")")])
    out = [line[: open_at + 1]]
    current = ""
    for i, arg in enumerate(args):
        piece = arg.strip() + ","
        if current and len(INDENT * 2) + len(current) + 1 + len(piece) > width:
            out.append(INDENT * 2 + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    out.append(INDENT * 2 + current.rstrip(","))
    out.append("):")
    return out


def docstring(text: str, width: int, close: bool = True) -> list[str]:
    one = f'"""{text}"""'
    if len(one) <= width and close:
        return [one]
    lines = wrap_text(text, width - 3)
    lines[0] = '"""' + lines[0]
    if close:
        lines.append('"""')
    return lines
