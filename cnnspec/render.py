"""Report to text: the rich table, Markdown, CSV and JSON. Reads only the Report; computes nothing."""

from __future__ import annotations

import csv
import io
from fractions import Fraction

from .errors import format_diagnostic
from .report import LayerReport, Report
from .words import plural, shape_text, value_text

FORMATS = ("table", "json", "csv", "markdown")


def count(n: int) -> str:
    return f"{n:,}"


def size_text(n_bytes: int) -> str:
    """Bytes in binary units, one decimal: 241.0 KiB."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n_bytes:,} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError


def field_text(values) -> str:
    """A receptive field or jump: `5×5`; empty for a network without spatial axes."""
    return "×".join(value_text(Fraction(v)) if isinstance(v, Fraction) else str(v) for v in values)


def _rf_text(layer: LayerReport) -> str:
    if not layer.receptive_field:
        return ""
    return f"{field_text(layer.receptive_field)} /{field_text(layer.jump)}" if layer.jump else ""


def _rows(report: Report):
    """The table's rows in order: ("repeat", depth, text) headers where a repeat pass starts, then ("layer", depth, layer)."""
    previous: tuple = ()
    for layer in report.layers:
        steps = layer.repeats
        common = 0
        while (common < len(steps) and common < len(previous)
               and (steps[common].id, steps[common].iteration) == (previous[common].id, previous[common].iteration)):
            common += 1
        for depth in range(common, len(steps)):
            step = steps[depth]
            yield "repeat", depth, f"{step.text}  ({step.iteration}/{step.count})"
        yield "layer", len(steps), layer
        previous = steps


def summary_lines(report: Report) -> list[str]:
    t = report.totals
    return [
        f"input {shape_text(report.input_shape)} → output {shape_text(report.output_shape)}, "
        f"{plural(len(report.layers), 'layer')}",
        f"params {count(t.params)}   buffers {count(t.buffers)}   MACs {count(t.macs)}   FLOPs {count(t.flops)} (2 × MACs)",
        f"memory estimate, batch {report.batch}, {report.dtype}: params {size_text(t.param_bytes)} + buffers "
        f"{size_text(t.buffer_bytes)} + input {size_text(t.input_bytes)} + outputs of every layer "
        f"{size_text(t.activation_bytes)} = {size_text(t.total_bytes)}",
    ]


HEADERS = ("#", "layer", "output", "params", "MACs", "activations", "RF /jump")
_RIGHT = (True, False, True, True, True, True, True)  # which columns are right-aligned


def table_cells(report: Report) -> tuple[list[tuple[str, tuple[str, ...]]], tuple[str, ...]]:
    """The table as text cells, shared by every drawing of it: ([(row kind, cells)], footer).

    Row kinds: "input", "repeat" (a pass of a repeat starts; only the layer cell is filled), "layer".
    """
    rows = [("input", ("", report.input_text, shape_text(report.input_shape), "", "", "", ""))]
    for kind, depth, item in _rows(report):
        indent = "  " * depth
        if kind == "repeat":
            rows.append(("repeat", ("", indent + "▸ " + item, "", "", "", "", "")))
        else:
            rows.append(("layer", (str(item.index), indent + item.text, shape_text(item.output_shape),
                                   count(item.params), count(item.macs), count(item.activations), _rf_text(item))))
    t = report.totals
    return rows, ("", "total", "", count(t.params), count(t.macs), count(t.activations), "")


def table(report: Report):
    """A rich Table in the spirit of the lecture's case-study table (for terminals and Jupyter)."""
    from rich import box
    from rich.table import Table

    rows, footer = table_cells(report)
    # Numbers are never cut: their columns are as wide as their widest cell, and the layer text folds instead.
    widths = [max(len(cells[i]) for _, cells in rows + [("", footer)]) for i in range(len(HEADERS))]
    grid = Table(box=box.SIMPLE_HEAD, show_footer=True, title=report.path, title_justify="left",
                 caption="\n".join(summary_lines(report)), caption_justify="left")
    for i, name in enumerate(HEADERS):
        if i == 1:
            grid.add_column(name, footer=footer[i], overflow="fold")
        else:
            grid.add_column(name, footer=footer[i], justify="right", min_width=widths[i], no_wrap=True,
                            style="dim" if i == 0 else None)
    for kind, cells in rows:
        grid.add_row(*cells, style="italic cyan" if kind == "repeat" else None)
    return grid


def plain_table(report: Report) -> str:
    """The same table as plain text, drawn without rich: what `analyze` prints when its output is not a
    terminal (a file, a pipe), where colour is lost anyway and rich's start-up would be most of the run."""
    rows, footer = table_cells(report)
    everything = [HEADERS] + [cells for _, cells in rows] + [footer]
    widths = [max(len(cells[i]) for cells in everything) for i in range(len(HEADERS))]

    def line(cells) -> str:
        parts = [c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, _RIGHT)]
        return ("  " + "   ".join(parts)).rstrip()

    rule = " " + "─" * (sum(widths) + 3 * (len(widths) - 1) + 2)
    out = [report.path, "", line(HEADERS), rule]
    out += [line(cells) for _, cells in rows]
    out += [rule, line(footer), ""]
    out += summary_lines(report)
    return "\n".join(out) + "\n"


def warnings_text(report: Report) -> str:
    return "\n".join(format_diagnostic(w) for w in report.warnings)


def markdown(report: Report) -> str:
    rows, footer = table_cells(report)
    out = [f"**{report.path}**", "", "| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("--:" if right else ":--" for right in _RIGHT) + "|"]
    for kind, cells in rows:
        index, layer, *numbers = cells
        depth = (len(layer) - len(layer.lstrip(" "))) // 2
        layer = "&nbsp;&nbsp;" * depth + (f"*`{layer.strip()}`*" if kind == "repeat" else f"`{layer.strip()}`")
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


CSV_COLUMNS = ("index", "op", "text", "line", "column", "input_shape", "output_shape", "params", "buffers", "macs",
               "flops", "activations", "receptive_field", "jump")


def csv_text(report: Report) -> str:
    """One row per layer; shapes as `32x24x24` so that spreadsheets read them as plain text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for layer in report.layers:
        row = layer.to_dict()
        writer.writerow([
            row["index"], row["op"], row["text"], row["line"], row["column"],
            "x".join(map(str, layer.input_shape)), "x".join(map(str, layer.output_shape)),
            row["params"], row["buffers"], row["macs"], row["flops"], row["activations"],
            field_text(layer.receptive_field).replace("×", "x"), field_text(layer.jump).replace("×", "x"),
        ])
    return out.getvalue()
