"""Worksheets on paper and back: write a Worksheet (blank, or the key with its working) as Markdown, CSV,
YAML or LaTeX, and read a student's filled copy of any of them into Answers (the cells as written).

Every format has the same table: a row per layer (`#`, the input size and layer, then the asked
columns), a `total` row for the summed columns, and a second table of questions (`#`, question, answer).
Reading finds rows by their `#` and columns by their headings, so a student may reorder columns,
drop empty rows or leave cells blank; reading never interprets a number (that is `check.py`'s job).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..lang.errors import CnnspecError
from ..lang.sources import read_text
from ..lang.words import shape_text
from .columns import COLUMNS
from .worksheet import NOT_ASKED, Worksheet

SUFFIXES = {"md": (".md", ".markdown"), "csv": (".csv",), "yaml": (".yaml", ".yml"), "tex": (".tex",)}
LAYER_HEADING = "input size / layer"
INSTRUCTIONS = ("Fill in every empty cell: sizes as C×H×W (a vector as its length), counts as whole numbers. "
                "A # product is one multiply–accumulate.")


@dataclass(frozen=True, slots=True)
class Answers:
    """A filled worksheet as the student wrote it: cell texts by (row, column) and answers by question."""

    cells: dict  # {(row "1", "2", … or "total", column key): text}
    questions: dict  # {question id: text}


def _table(ws: Worksheet, key: bool) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """The heading, the rows (layers, then the total) and the question rows, with the key's text or blanks."""
    heading = ["#", LAYER_HEADING] + [COLUMNS[c] for c in ws.columns]
    rows = [[str(row.index), f"{shape_text(row.input)} {row.layer}"]
            + [c.working if key or c.working == NOT_ASKED else "" for c in row.cells] for row in ws.rows]
    if ws.totals:
        totals = {cell.column: cell.working for cell in ws.totals}
        rows.append(["total", ""] + [(totals[c] if key else "") if c in totals else NOT_ASKED for c in ws.columns])
    questions = [[q.id, q.text, q.working if key else ""] for q in ws.questions]
    return heading, rows, questions


def _title(ws: Worksheet, key: bool) -> str:
    return ws.title + (" (answer key)" if key else "") + (f", variant {ws.variant}" if ws.variant else "")


# ------------------------------------------------------------------------------------------- write


def markdown(ws: Worksheet, key: bool = False) -> str:
    heading, rows, questions = _table(ws, key)

    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"# {_title(ws, key)}", "", INSTRUCTIONS, "", line(heading),
           "|" + "|".join(["--:", ":--"] + [":--"] * len(ws.columns)) + "|"]
    out += [line(row) for row in rows]
    if questions:
        out += ["", "## Questions", "", line(["#", "question", "answer"]), "|:--|:--|:--|"]
        out += [line(q) for q in questions]
    return "\n".join(out) + "\n"


def csv_text(ws: Worksheet, key: bool = False) -> str:
    heading, rows, questions = _table(ws, key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([heading, *rows])
    if questions:
        writer.writerows([[], ["#", "question", "answer"], *questions])
    return out.getvalue()


def yaml_text(ws: Worksheet, key: bool = False) -> str:
    """YAML written by hand, every string double-quoted (JSON's quoting, which YAML reads), so that no
    library is needed to write it; reading it back uses PyYAML."""
    _, rows, questions = _table(ws, key)

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    out = [f"title: {q(_title(ws, key))}", f"instructions: {q(INSTRUCTIONS)}", "rows:"]
    for row in rows:
        out.append(f"  - {q('#')}: {q(row[0])}")
        if row[0] != "total":
            out.append(f"    {q(LAYER_HEADING)}: {q(row[1])}")
        out += [f"    {q(COLUMNS[c])}: {q(text)}" for c, text in zip(ws.columns, row[2:]) if text != NOT_ASKED]
    if questions:
        out.append("questions:")
        for qid, text, answer in questions:
            out += [f"  - {q('#')}: {q(qid)}", f"    question: {q(text)}", f"    answer: {q(answer)}"]
    return "\n".join(out) + "\n"


_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_MATH = {"⌊": r"\lfloor ", "⌋": r"\rfloor ", "⌈": r"\lceil ", "⌉": r"\rceil ", "·": r"\cdot ", "×": r"\times ",
             "−": "-", "²": "^2", "³": "^3", "→": r"\rightarrow ", "…": r"\ldots "}


def _tex_text(text: str) -> str:
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text)


def _tex_math(text: str) -> str:
    """A working (`32·(1·5²+1) = 832`) as LaTeX math; empty stays empty."""
    if not text or text == NOT_ASKED:
        return text.replace(NOT_ASKED, "---")
    return "$" + "".join(_TEX_MATH.get(ch, ch) for ch in text).replace("#", r"\#") + "$"


def tex(ws: Worksheet, key: bool = False) -> str:
    heading, rows, questions = _table(ws, key)
    out = [f"% {_title(ws, key)}", f"% {INSTRUCTIONS}",
           r"\begin{tabular}{r" + " l" * (len(heading) - 1) + "}", r"\hline",
           " & ".join(_tex_text(h) for h in heading) + r" \\", r"\hline"]
    for row in rows:
        size, _, layer = row[1].partition(" ")
        layer = f"{_tex_math(size)} \\texttt{{{_tex_text(layer)}}}" if row[1] else ""
        out.append(" & ".join([row[0], layer] + [_tex_math(c) for c in row[2:]]) + r" \\")
    out += [r"\hline", r"\end{tabular}"]
    if questions:
        out += ["", r"\begin{tabular}{l p{0.6\linewidth} l}", r"\hline", r"\# & question & answer \\", r"\hline"]
        out += [f"{qid} & {_tex_text(text)} & {_tex_math(answer)} " + r"\\" for qid, text, answer in questions]
        out += [r"\hline", r"\end{tabular}"]
    return "\n".join(out) + "\n"


WRITERS = {"md": markdown, "csv": csv_text, "yaml": yaml_text, "tex": tex}


# -------------------------------------------------------------------------------------------- read


def format_of(path: str) -> str:
    suffix = Path(path).suffix.lower()
    for name, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return name
    raise CnnspecError("cannot tell this file's format from its name: answers are read from .md, .csv, "
                       ".yaml (.yml) or .tex files", path=path)


ANSWERS_LIMIT = 1 << 20  # bytes: a filled worksheet of 500 rows holds about 50 KB


def read_answers(path: str) -> Answers:
    """A student's filled worksheet; a file that cannot be read as one is a CnnspecError saying why."""
    kind = format_of(path)
    text = read_text(path, limit=ANSWERS_LIMIT, what=("a filled worksheet", None),
                     too_large=f"the file is larger than {ANSWERS_LIMIT:,} bytes, more than a filled worksheet holds")
    return parse_answers(text, kind, path)


def parse_answers(text: str, kind: str, path: str = "<answers>") -> Answers:
    tables = {"md": _markdown_tables, "csv": _csv_tables, "yaml": _yaml_tables, "tex": _tex_tables}[kind](text, path)
    cells, questions = {}, {}
    found = False
    for table in tables:
        if not table:
            continue
        heading = [_heading_key(h) for h in table[0]]
        if "#" not in heading:
            continue
        number = heading.index("#")
        if "answer" in heading:  # the questions
            found = True
            for row in table[1:]:
                if len(row) > number and row[number].strip():
                    questions[row[number].strip().lower()] = _cell(row, heading.index("answer"))
            continue
        columns = [(i, h) for i, h in enumerate(heading) if h in COLUMNS]
        if columns:
            found = True
        for row in table[1:]:
            if len(row) > number and row[number].strip():
                for i, column in columns:
                    cells[(row[number].strip().lower(), column)] = _cell(row, i)
    if not found:
        raise CnnspecError("no worksheet table found: the file should have the worksheet's table with its "
                           f"`#` column and headings such as `{COLUMNS['output']}`", path=path)
    return Answers(cells, questions)


def _cell(row: list, i: int) -> str:
    return row[i].strip() if i < len(row) and row[i] is not None else ""


_HEADINGS = {heading.lower(): key for key, heading in COLUMNS.items()} | {key: key for key in COLUMNS}


def _heading_key(text) -> str:
    """A column heading as the column's key (`# parameters` → params); `#`, `answer` and others as written."""
    words = " ".join(str(text).replace("\\#", "#").split()).lower()
    return _HEADINGS.get(words, words)


def _markdown_tables(text: str, path: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
            if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                continue  # the line under the heading
            current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _csv_tables(text: str, path: str) -> list[list[list[str]]]:
    tables, current = [], []
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CnnspecError(f"not readable as CSV: {exc}", path=path) from None
    for row in rows:
        if not any(c.strip() for c in row):
            if current:
                tables.append(current)
            current = []
        else:
            current.append(row)
    if current:
        tables.append(current)
    return tables


def _yaml_tables(text: str, path: str) -> list[list[list[str]]]:
    try:
        import yaml
    except ImportError:
        raise CnnspecError("reading YAML answers needs PyYAML: install cnnspec[homework] "
                           "(pip install 'cnnspec[homework]')", path=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise CnnspecError(f"not readable as YAML{where}: {getattr(exc, 'problem', None) or exc}", path=path) from None
    if not isinstance(data, dict):
        raise CnnspecError("not a worksheet: the YAML should be a mapping with `rows`", path=path)
    tables = []
    for name in ("rows", "questions"):
        entries = data.get(name) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise CnnspecError(f"not a worksheet: `{name}` should be a list of mappings", path=path)
        keys = list(dict.fromkeys(str(k) for e in entries for k in e))
        tables.append([keys] + [[_yaml_value(e.get(k, e.get(_int_key(k)))) for k in keys] for e in entries])
    return tables


def _int_key(key: str):
    return int(key) if key.isdigit() else key


def _yaml_value(value) -> str:
    """A YAML value as the text a student would have written: [32, 24, 24] → `32×24×24`."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


_TEX_READ = [(r"\lfloor", "⌊"), (r"\rfloor", "⌋"), (r"\lceil", "⌈"), (r"\rceil", "⌉"), (r"\cdot", "·"),
             (r"\times", "×"), (r"\rightarrow", "→"), (r"\to", "→"), (r"\ldots", "…"), (r"\#", "#"), (r"\%", "%"),
             (r"\&", "&"), (r"\_", "_"), (r"\{", "{"), (r"\}", "}"), ("{,}", ","), (r"\,", ""), (r"\;", " "),
             (r"\!", ""), ("^2", "²"), ("^3", "³"), ("^{2}", "²"), ("^{3}", "³")]


def _tex_tables(text: str, path: str) -> list[list[list[str]]]:
    tables = []
    for body in re.findall(r"\\begin\{tabular\}(?:\{[^\n]*\})?(.*?)\\end\{tabular\}", text, re.S):
        body = "\n".join(line.split("%", 1)[0] if not re.search(r"\\%", line) else line for line in body.splitlines())
        table = []
        for raw in re.split(r"\\\\", body):
            raw = re.sub(r"\\hline|\\toprule|\\midrule|\\bottomrule", "", raw).strip()
            if not raw:
                continue
            cells = re.split(r"(?<!\\)&", raw)
            table.append([_tex_plain(c) for c in cells])
        tables.append(table)
    return tables


def _tex_plain(cell: str) -> str:
    """LaTeX cell text as plain text: math symbols back to their characters, $ and \\texttt dropped."""
    text = re.sub(r"\\texttt\{(.*)\}", r"\1", cell.strip())
    for latex, plain in _TEX_READ:
        text = text.replace(latex, plain)
    return " ".join(text.replace("$", "").split())
