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


def _layer_cells(layer: LayerReport) -> tuple[str, ...]:
    return (str(layer.index), shape_text(layer.output_shape), count(layer.params), count(layer.macs),
            count(layer.activations), _rf_text(layer))


def table(report: Report):
    """A rich Table in the spirit of the lecture's case-study table."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = report.totals
    rows = list(_rows(report))
    cells = {id(item): _layer_cells(item) for kind, _, item in rows if kind == "layer"}
    footers = ("", "", count(t.params), count(t.macs), count(t.activations), "")
    # Numbers are never cut: their columns are as wide as their widest cell, and the layer text folds instead.
    widths = [max([len(c[i]) for c in cells.values()] + [len(footers[i])]) for i in range(6)]

    grid = Table(box=box.SIMPLE_HEAD, show_footer=True, title=report.path, title_justify="left",
                 caption="\n".join(summary_lines(report)), caption_justify="left")
    grid.add_column("#", justify="right", style="dim", min_width=widths[0], no_wrap=True)
    grid.add_column("layer", footer="total", overflow="fold")
    for name, width, footer in zip(("output", "params", "MACs", "activations", "RF /jump"), widths[1:], footers[1:]):
        grid.add_column(name, justify="right", footer=footer, min_width=width, no_wrap=True)
    grid.add_row("", report.input_text, shape_text(report.input_shape), "", "", "", "")
    for kind, depth, item in rows:
        indent = "  " * depth
        if kind == "repeat":
            grid.add_row("", Text(indent + "▸ " + item, style="italic cyan"), "", "", "", "", "")
        else:
            index, *numbers = cells[id(item)]
            grid.add_row(index, indent + item.text, *numbers)
    return grid


def warnings_text(report: Report) -> str:
    return "\n".join(format_diagnostic(w) for w in report.warnings)


def markdown(report: Report) -> str:
    out = io.StringIO()
    out.write(f"**{report.path}**\n\n")
    out.write("| # | layer | output | params | MACs | activations | RF /jump |\n")
    out.write("|--:|:--|--:|--:|--:|--:|--:|\n")
    out.write(f"|  | `{report.input_text}` | {shape_text(report.input_shape)} |  |  |  |  |\n")
    for kind, depth, item in _rows(report):
        pad = "&nbsp;&nbsp;" * depth
        if kind == "repeat":
            out.write(f"|  | {pad}▸ *`{item}`* |  |  |  |  |  |\n")
            continue
        layer = item
        out.write(f"| {layer.index} | {pad}`{layer.text}` | {shape_text(layer.output_shape)} | {count(layer.params)} "
                  f"| {count(layer.macs)} | {count(layer.activations)} | {_rf_text(layer)} |\n")
    t = report.totals
    out.write(f"|  | **total** |  | **{count(t.params)}** | **{count(t.macs)}** | **{count(t.activations)}** |  |\n\n")
    for line in summary_lines(report):
        out.write(f"- {line}\n")
    if report.warnings:
        out.write("\n**Warnings**\n\n")
        for w in report.warnings:
            where = f"line {w.line}, column {w.column}: " if w.line else ""
            out.write(f"- {where}{w.message}\n")
    return out.getvalue()


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
