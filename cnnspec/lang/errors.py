"""Source positions, diagnostics, and the one exception family for everything a user can cause."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    """A spec's text and the name it is reported under (a path, `<stdin>`, `<string>`, `--set`)."""

    path: str
    text: str
    # Where each line starts, found once when a message first quotes a line (not for every message).
    _line_starts: list | None = field(default=None, init=False, repr=False, compare=False)

    def line_text(self, line: int) -> str:
        # Lines end at "\n" only, as the parser counts them (str.splitlines would also cut at \r, \f, \v).
        starts = self._line_starts
        if starts is None:
            starts = [0, *(match.end() for match in re.finditer("\n", self.text))]
            object.__setattr__(self, "_line_starts", starts)
        if not 0 < line <= len(starts):
            return ""
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[starts[line - 1]:end].rstrip("\r")


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of source text: 1-based line and column of its start, 0-based offsets into the text."""

    source: Source = field(repr=False, compare=False)
    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.source, self.start, other.end, self.line, self.column, other.end_line, other.end_column)


def point_span(source: Source, offset: int) -> Span:
    """A one-character span at `offset` (clamped to the text), for errors that have only a position."""
    offset = max(0, min(offset, len(source.text)))
    before = source.text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return Span(source, offset, offset + 1, line, column, line, column + 1)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about the spec, with where it applies (None when it concerns no line)."""

    severity: str  # "error" | "warning" | "note"
    message: str
    span: Span | None = field(default=None, compare=False)
    path: str | None = None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None


class CnnspecError(Exception):
    """Raised for anything a user can cause: bad syntax, bad values, shapes that do not fit, bad files.

    Holds one or more diagnostics (a template with several missing values reports them all).
    """

    def __init__(self, message: str | None = None, span: Span | None = None, *, path: str | None = None,
                 diagnostics: list[Diagnostic] | None = None):
        if diagnostics is None:
            if message is None:
                raise TypeError("CnnspecError needs a message or diagnostics")
            diagnostics = [Diagnostic("error", message, span, path)]
        self.diagnostics: list[Diagnostic] = diagnostics
        super().__init__(self.format())

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    @property
    def span(self) -> Span | None:
        return self.diagnostics[0].span

    @property
    def path(self) -> str | None:
        first = self.diagnostics[0]
        return first.span.source.path if first.span else first.path

    @property
    def line(self) -> int | None:
        return self.diagnostics[0].line

    @property
    def column(self) -> int | None:
        return self.diagnostics[0].column

    def format(self) -> str:
        return "\n".join(format_diagnostic(d) for d in self.diagnostics)


QUOTED_WIDTH = 160  # the most characters of a source line a message quotes


def format_diagnostic(diagnostic: Diagnostic) -> str:
    """`PATH:LINE:COLUMN: severity: MESSAGE`, then the source line and a caret under the offending text."""
    span = diagnostic.span
    if span is None:
        prefix = f"{diagnostic.path}: " if diagnostic.path else "cnnspec: "
        return f"{prefix}{diagnostic.severity}: {diagnostic.message}"
    head = f"{span.source.path}:{span.line}:{span.column}: {diagnostic.severity}: {diagnostic.message}"
    # One printed character per source character, so the caret lines up: tabs and other controls become spaces.
    line = "".join(" " if ord(c) < 32 else c for c in span.source.line_text(span.line))
    if not line.strip():
        return head
    column = span.column
    width = max(1, (span.end_column - span.column) if span.end_line == span.line else len(line) - span.column + 1)
    if len(line) > QUOTED_WIDTH:  # a generated spec's line of thousands of characters: the part around the caret
        start = max(0, min(column - 1 - QUOTED_WIDTH // 4, len(line) - QUOTED_WIDTH))
        end = start + QUOTED_WIDTH
        line = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
        column -= start - (1 if start else 0)
    width = min(width, max(1, len(line) - column + 1))
    caret = " " * (column - 1) + "^" + "~" * (width - 1)
    return f"{head}\n    {line}\n    {caret}"


def suggest(name: str, candidates) -> str:
    """`; did you mean `x`?` for the closest candidate, or nothing: difflib's closest ones that are also a typo
    away (a few letters changed, added, dropped or swapped), so that `basic` is not `SLICE`."""
    import difflib

    lowered = {c.lower(): c for c in candidates}
    key = name.lower()
    for match in difflib.get_close_matches(key, list(lowered), n=5, cutoff=0.6):
        if _edits(key, match) <= max(1, len(key) // 3):
            return f"; did you mean `{lowered[match]}`?"
    return ""


def _edits(a: str, b: str) -> int:
    """The letters to change, add, drop or swap (two neighbours) to turn a into b (Damerau–Levenshtein, the
    optimal string alignment form)."""
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y)))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
