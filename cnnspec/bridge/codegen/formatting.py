"""Generated source laid out: black formats the code at 99 columns; the comments that quote the spec are
placed here first, since black never moves a comment: after its code when the line fits, else above it.

Code is kept as lines (text, or (text, comment)) indented as black will indent them: a statement at its
block's depth, the elements of a call one level deeper, so that where a comment fits is known beforehand.
"""

from __future__ import annotations

import textwrap

from ...lang.errors import CnnspecError

LINE_LIMIT = 99
INDENT = "    "
BLACK_MISSING = "writing PyTorch source needs black: install cnnspec[torch] (pip install 'cnnspec[torch]')"


class Sequential(str):
    """An `nn.Sequential(...)` expression, kept as its elements so that each can carry its comment."""

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
    """`opening`, then one element per line with its comment, then `closing` (the trailing comma keeps
    black from joining them)."""
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
    """The lines at an indentation level, each comment after its code if the line fits, else above it."""
    out: list[str] = []
    pad = INDENT * level
    for entry in lines:
        text, comment = (entry, None) if isinstance(entry, str) else entry
        code = pad + text if text.strip() else ""
        if comment:
            if code and len(f"{code}  # {comment}") <= LINE_LIMIT:
                out.append(f"{code}  # {comment}")
                continue
            out.extend(comment_lines(pad + text[: len(text) - len(text.lstrip(" "))], comment))
        if code or not comment:
            out.append(code)
    return out


def comment_lines(pad: str, comment: str) -> list[str]:
    """A comment on lines of its own, continued with a hanging indent."""
    return textwrap.wrap(comment, LINE_LIMIT, initial_indent=pad + "# ", subsequent_indent=pad + "#   ",
                         break_long_words=False, break_on_hyphens=False)


def wrap_text(text: str, width: int = LINE_LIMIT) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def docstring(text: str, width: int, close: bool = True) -> list[str]:
    """A docstring's lines: one if it fits in `width`, else its text wrapped and the closing quotes below."""
    # Wrapped with room for the closing quotes, which black joins to a single line however long it gets.
    lines = wrap_text('"""' + text, width - 3)
    if close and len(lines) == 1:
        return [lines[0] + '"""']
    return lines + ['"""'] if close else lines


def formatted(source: str) -> str:
    """The file as black writes it (imported only here: only writing PyTorch source needs it)."""
    try:
        import black
    except ImportError:
        raise CnnspecError(BLACK_MISSING) from None
    return black.format_str(source, mode=black.Mode(line_length=LINE_LIMIT))
