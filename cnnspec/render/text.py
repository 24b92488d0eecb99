"""Report to text: the rich table, Markdown, CSV and JSON. Reads only the Report; computes nothing."""

from __future__ import annotations

import csv
import io

from ..lang.errors import format_diagnostic
from ..analysis.report import LayerReport, Report
from ..lang.words import plural, shape_text, value_text

FORMATS = ("table", "json", "csv", "markdown")


def count(n: int) -> str:
    return f"{n:,}"


def size_text(n_bytes: int) -> str:
    """Bytes in binary units, one decimal: 241.0 KiB (in integers, so any size prints)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = 0
    while power < len(units) - 1 and n_bytes >= 1024 ** (power + 1):
        power += 1
    if power == 0:
        return f"{n_bytes:,} B"
    tenths = (n_bytes * 10 + 1024 ** power // 2) // 1024 ** power
    return f"{tenths // 10:,}.{tenths % 10} {units[power]}"


def field_text(values) -> str:
    """A receptive field or jump: `5×5`; empty for a network without spatial axes."""
    return "×".join(value_text(v) for v in values)


def _rf_text(layer: LayerReport) -> str:
    if not layer.receptive_field:
        return ""
    return f"{field_text(layer.receptive_field)} /{field_text(layer.jump)}" if layer.jump else ""


def summary_lines(report: Report) -> list[str]:
    t = report.totals
    return [
        f"input {shape_text(report.input_shape)} → output {shape_text(report.output_shape)}, "
        f"{plural(len(report.layers), 'layer')}",
        f"params {count(t.params)}" + (f" ({count(t.unused_params)} of them unused: off the path to the output)"
                                       if t.unused_params else "") +
        f"   buffers {count(t.buffers)}   MACs {count(t.macs)}   FLOPs {count(t.flops)} (2 × MACs)",
        f"memory estimate, batch {report.batch}, {report.dtype}: params {size_text(t.param_bytes)} + buffers "
        f"{size_text(t.buffer_bytes)} + input {size_text(t.input_bytes)} + outputs of every layer "
        f"{size_text(t.activation_bytes)} = {size_text(t.total_bytes)}",
    ]


HEADERS = ("#", "layer", "output", "params", "MACs", "activations", "RF /jump")
_RIGHT = (True, False, True, True, True, True, True)  # which columns are right-aligned


SCOPE_TEXT_WIDTH = 60
LAYER_TEXT_WIDTH = 80  # a longer layer text is cut in the table (JSON and CSV keep it whole)
INPUTS_SHOWN = 8  # a merge of more branches shows the first and last of the rows that feed it


def _layer_text(report: Report, layer: LayerReport) -> str:
    """As written; inside a block or a repeat with an index, where the text is the same for every call or copy,
    with its values instead."""
    in_block = any(report.scopes[i - 1].kind == "block" or report.scopes[i - 1].index is not None
                   for i in layer.scopes)
    text = _cut(layer.resolved if in_block else layer.text, LAYER_TEXT_WIDTH)
    if layer.unused:
        text += "  (unused)"
    if layer.shares is not None:
        text += f"  (the weights of {next(l.index for l in report.layers if l.path == layer.shares)})"
    if not layer.inputs:
        return text
    inputs = [str(i) if i else "input" for i in layer.inputs]
    if len(inputs) > INPUTS_SHOWN:
        inputs = [*inputs[:INPUTS_SHOWN - 2], "…", inputs[-1]]
    return f"{text}  ← " + ", ".join(inputs)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _scope_text(text: str) -> str:
    return _cut(text, SCOPE_TEXT_WIDTH)


def table_cells(report: Report, depth: int | None = None) -> tuple[list[tuple[str, tuple[str, ...]]], tuple[str, ...]]:
    """The table as text cells, shared by every drawing of it: ([(row kind, cells)], footer).

    Row kinds: "input"; "scope" (a block, repeat or labelled group, with the sums of its layers, before
    them); "layer". Rows nested deeper than `depth` are left out (their scopes' sums include them);
    depth 0 leaves only the totals.
    """
    rows = [] if depth == 0 else [("input", ("", report.input_text, shape_text(report.input_shape), "", "", "", ""))]
    opened: set[int] = set()
    for layer in report.layers:
        for level, scope_id in enumerate(layer.scopes, 1):
            if scope_id in opened:
                continue
            opened.add(scope_id)
            if depth is None or level <= depth:
                scope = report.scopes[scope_id - 1]
                last = report.layers[scope.last - 1]
                span = f"{scope.first}–{scope.last}" if scope.last > scope.first else str(scope.first)
                rows.append(("scope", (span, "  " * (level - 1) + "▸ " + _scope_text(scope.text),
                                       shape_text(last.output_shape),
                                       count(scope.params), count(scope.macs), count(scope.activations),
                                       _rf_text(last))))
        level = len(layer.scopes) + 1
        if depth is None or level <= depth:
            rows.append(("layer", (str(layer.index), "  " * (level - 1) + _layer_text(report, layer),
                                   shape_text(layer.output_shape), count(layer.params), count(layer.macs),
                                   count(layer.activations), _rf_text(layer))))
    t = report.totals
    return rows, ("", "total", "", count(t.params), count(t.macs), count(t.activations), "")


def table_lines(report: Report, depth: int | None = None) -> list[tuple[str, str]]:
    """The table laid out as lines of text, each with what it is ("title", "header", "rule", "input",
    "scope", "layer", "total", "summary"), so that a terminal can colour them."""
    rows, footer = table_cells(report, depth)
    everything = [HEADERS] + [cells for _, cells in rows] + [footer]
    widths = [max(len(cells[i]) for cells in everything) for i in range(len(HEADERS))]

    def line(cells) -> str:
        parts = [c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, _RIGHT)]
        return ("  " + "   ".join(parts)).rstrip()

    rule = " " + "─" * (sum(widths) + 3 * (len(widths) - 1) + 2)
    return [(report.path, "title"), ("", "blank"), (line(HEADERS), "header"), (rule, "rule"),
            *((line(cells), kind) for kind, cells in rows),
            (rule, "rule"), (line(footer), "total"), ("", "blank"),
            *((text, "summary") for text in summary_lines(report))]


_STYLES = {"title": "bold", "header": "bold", "rule": "dim", "scope": "cyan", "total": "bold", "summary": "dim"}


def table(report: Report, depth: int | None = None):
    """The table for terminals and Jupyter: rich Text, coloured by kind of row.

    It is the plain layout, not a rich Table: measuring every cell of a 500-row ResNet-152 table made
    rich take 0.3 s, and the layout is already computed (numbers are never cut, columns fit them).
    """
    from rich.text import Text

    text = Text(no_wrap=True, overflow="ignore")
    for line, kind in table_lines(report, depth):
        text.append(line + "\n", style=_STYLES.get(kind, ""))
    return text


def plain_table(report: Report, depth: int | None = None) -> str:
    """The table as plain text: what `analyze` prints when its output is not a terminal."""
    return "\n".join(line for line, _ in table_lines(report, depth)) + "\n"


def warnings_text(report: Report) -> str:
    return "\n".join(format_diagnostic(w) for w in report.warnings)


def markdown(report: Report, depth: int | None = None) -> str:
    rows, footer = table_cells(report, depth)
    out = [f"**{report.path}**", "", "| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("--:" if right else ":--" for right in _RIGHT) + "|"]
    for kind, cells in rows:
        index, layer, *numbers = cells
        level = (len(layer) - len(layer.lstrip(" "))) // 2
        layer = "&nbsp;&nbsp;" * level + (f"**`{layer.strip()}`**" if kind == "scope" else f"`{layer.strip()}`")
        out.append("| " + " | ".join([index, layer, *numbers]) + " |")
    out.append("| " + " | ".join(f"**{c}**" if c else "" for c in footer) + " |")
    out.append("")
    out += [f"- {line}" for line in summary_lines(report)]
    if report.warnings:
        out += ["", "**Warnings**", ""]
        for w in report.warnings:
            where = f"line {w.line}, column {w.column}: " if w.line else ""
            out.append(f"- {where}{w.message}")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ("index", "op", "text", "line", "column", "path", "input_shape", "output_shape", "params", "buffers",
               "macs", "flops", "activations", "receptive_field", "jump", "inputs")


def csv_text(report: Report) -> str:
    """One row per layer; shapes as `32x24x24` so that spreadsheets read them as plain text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for layer in report.layers:
        row = layer.to_dict()
        writer.writerow([
            row["index"], row["op"], row["text"], row["line"], row["column"], row["path"],
            "x".join(map(str, layer.input_shape)), "x".join(map(str, layer.output_shape)),
            row["params"], row["buffers"], row["macs"], row["flops"], row["activations"],
            field_text(layer.receptive_field).replace("×", "x"), field_text(layer.jump).replace("×", "x"),
            " ".join(map(str, layer.inputs)),
        ])
    return out.getvalue()


def verification_text(result) -> str:
    """The runtime check as a table: each cell the measured value with ✓, or ✗ and what analysis said."""
    def cell(expected, measured, as_text) -> str:
        if expected == measured:
            return "not run (unused) ✓" if measured is None else f"{as_text(measured)} ✓"
        return f"✗ {as_text(measured) if measured is not None else 'not run'} (analysis: {as_text(expected)})"

    formats = (shape_text, count, count, count)
    headers = ("#", "module", "layer", "output", "params", "buffers", "MACs")
    rows = [(str(c.index), c.path, c.text, *(cell(e, m, f) for e, m, f in zip(c.expected, c.measured, formats)))
            for c in result.layers]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells) -> str:
        return ("  " + "   ".join(c.ljust(w) if i in (1, 2) else c.rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths)))).rstrip()

    rule = " " + "─" * (sum(widths) + 3 * (len(widths) - 1) + 2)
    out = [f"{result.path} (lowered to PyTorch, run on {result.device}, batch {result.batch})", "", line(headers),
           rule, *(line(r) for r in rows), rule, ""]
    bad = [c for c in result.layers if not c.ok]
    out.append(f"output {shape_text(result.output_shape)}"
               + (" ✓" if result.output_shape == result.expected_output_shape
                  else f" ✗ (analysis: {shape_text(result.expected_output_shape)})")
               + ("" if result.finite is None else (", finite ✓" if result.finite else ", not finite ✗")))
    out.append(f"{len(result.layers) - len(bad)} of {len(result.layers)} layers agree"
               + ("" if not bad else ": " + ", ".join(f"{c.index} ({', '.join(c.mismatches())})" for c in bad)))
    return "\n".join(out) + "\n"
