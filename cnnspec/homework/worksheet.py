"""Report to worksheet: the exercise of the lecture notes ("fill in the output size, # parameters and
# products of each layer") as data, with the answer key and its working, and the extra questions.

Every answer comes from the analysis (the Report, and the registry rule's result for each layer); the
working is the registry's `derive` text, which evaluates to the same number. Nothing is worked out here
but the padding question, which asks for the inputs of a size rule rather than its output. Rendering to
Markdown, CSV, YAML and LaTeX is `sheets.py`; grading is `check.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .. import ops
from ..analysis.analyze import Step, analyze_steps
from ..lang.errors import CnnspecError
from ..lang.ir import Network
from ..analysis.report import Report
from ..analysis.resolve import resolve
from ..lang.syntax import Program
from ..lang.words import join_words, shape_text

from .columns import COLUMNS, DEFAULT_COLUMNS, QUESTION_KINDS, SUMMED

NOT_ASKED = "—"  # a cell with no answer to give (the receptive field of a network without spatial axes)
VARIANT_ATTEMPTS = 50  # draws tried for one student before the spec is refused as unable to give a network


@dataclass(frozen=True, slots=True)
class Cell:
    column: str
    answer: tuple[int, ...] | int  # a shape (output, rf) or a whole number
    working: str  # how it is worked out: `32·(1·5²+1) = 832`; the answer itself when there is nothing to show


@dataclass(frozen=True, slots=True)
class Row:
    index: int  # the layer's index in the Report (1-based)
    layer: str  # the layer with its values: CONV(32, k=5)
    input: tuple[int, ...]  # the input size shown with it, as the notes' first column does
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Question:
    id: str  # q1, q2, …
    kind: str  # a key of QUESTION_KINDS
    layer: int  # the layer it is about
    text: str
    answers: frozenset  # every accepted answer: shapes, whole numbers; empty for "none exists"
    working: str
    axis: int | None = None  # the padding question's spatial axis, when the axes differ


@dataclass(frozen=True, slots=True)
class Worksheet:
    title: str
    path: str
    variant: str | None
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    totals: tuple[Cell, ...]  # the summed columns' totals
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Exercise:
    """A spec resolved for one student: the network, its report, and each layer as the analysis ran it."""

    net: Network
    report: Report
    steps: tuple[Step, ...]
    variant: str | None


def exercise(program: Program, variables: dict | None = None, variant: str | None = None) -> Exercise:
    """The network a student gets: their draws (`choice`, `randint`), redrawn while a draw makes the
    network invalid; a spec none of whose draws work is refused with the last reason."""
    for attempt in range(VARIANT_ATTEMPTS):
        net = resolve(program, variables or {}, variant=variant, attempt=attempt)
        try:
            report, steps = analyze_steps(net)
            return Exercise(net, report, steps, variant if net.draws else None)
        except CnnspecError as error:
            if variant is None or not net.draws:  # no draw to blame: the spec itself is wrong
                raise
            last_error = error
    first = last_error.diagnostics[0]
    raise CnnspecError(f"no valid network for variant `{variant}` in {VARIANT_ATTEMPTS} draws; the last one "
                       f"failed with: {first.message}", first.span)


def parse_question(text: str) -> tuple[str, int]:
    """`shape:3` → ("shape", 3): a question's kind and the layer (its row number) it asks about."""
    kind, _, layer = text.partition(":")
    kind = kind.strip().lower()
    if kind not in QUESTION_KINDS or not layer.strip().isdigit():
        kinds = join_words([f"`{k}:N`" for k in QUESTION_KINDS], "or")
        raise CnnspecError(f"--question expects KIND:LAYER, one of {kinds} (N: the layer's row), not {text!r}",
                           path="--question")
    return kind, int(layer)


def build(ex: Exercise, columns=DEFAULT_COLUMNS, questions=(), title: str | None = None) -> Worksheet:
    """The worksheet of an exercise: a row per layer with the asked columns, totals, and the questions."""
    if not columns:
        raise CnnspecError(f"--columns needs at least one column, from {join_words([f'`{c}`' for c in COLUMNS])}",
                           path="--columns")
    for column in columns:
        if column not in COLUMNS:
            raise CnnspecError(f"unknown column `{column}`; the columns are "
                               f"{join_words([f'`{c}`' for c in COLUMNS])}", path="--columns")
    rows = tuple(Row(layer.index, layer.resolved, layer.input_shape,
                     tuple(cell(ex, step, layer.index, column) for column in columns))
                 for layer, step in zip(ex.report.layers, ex.steps))
    totals = tuple(_total(ex.report, column) for column in columns if column in SUMMED)
    asked: list[Question] = []
    for number, (kind, layer) in enumerate(questions, 1):
        if not 1 <= layer <= len(ex.report.layers):
            raise CnnspecError(f"--question {kind}:{layer}: the network has layers 1 to {len(ex.report.layers)}",
                               path="--question")
        asked += _QUESTIONS[kind](ex, layer, f"q{number}")
    name = ex.report.path.replace("\\", "/").rsplit("/", 1)[-1]
    return Worksheet(title or f"Worksheet: {name}", ex.report.path, ex.variant, tuple(columns), rows,
                     totals, tuple(asked))


# ------------------------------------------------------------------------------------------ cells


def working_of(step: Step) -> ops.Working:
    derive = step.context.op.derive
    return derive(step.context, step.result) if derive is not None else ops.Working()


def cell(ex: Exercise, step: Step, index: int, column: str) -> Cell:
    layer = ex.report.layers[index - 1]
    working = working_of(step)
    if column == "output":
        return Cell(column, layer.output_shape, output_working(layer.output_shape, working))
    if column == "params":
        return Cell(column, layer.params, _equals(working.params, layer.params))
    if column == "products":
        return Cell(column, layer.macs, _equals(working.macs, layer.macs))
    if column == "flops":
        return Cell(column, 2 * layer.macs, _equals(f"2·{working.macs}" if working.macs else "", 2 * layer.macs))
    if column == "activations":
        return Cell(column, layer.activations,
                    _equals(ops.product_text(layer.output_shape) if len(layer.output_shape) > 1 else "",
                            layer.activations))
    if not layer.receptive_field:  # no spatial axes anywhere: nothing to ask
        return Cell(column, (), NOT_ASKED)
    return Cell(column, _whole(layer.receptive_field), _rf_working(ex.report, step, index))


def output_working(shape, working: ops.Working) -> str:
    """`⌊(28 + 2·0 − 5)/1⌋ + 1 = 24 → 32×24×24`, each distinct axis formula once: the answer comes last,
    after the last `=` or `→`, which is also where a student's worked answer is read."""
    text = shape_text(shape)
    if working.axes:
        parts = []
        for formula, size in zip(working.axes, shape[1:]):
            part = f"{formula} = {size}"
            if part not in parts:
                parts.append(part)
        return f"{'; '.join(parts)} → {text}"
    if working.size:  # the channels (CONCAT) or the features (FLATTEN)
        return f"{working.size} = {shape[0]}" + (f" → {text}" if len(shape) > 1 else "")
    return text


def _equals(formula: str, value: int) -> str:
    return f"{formula} = {value}" if formula and formula != str(value) else str(value)


def _total(report: Report, column: str) -> Cell:
    """The report's total of a summed column, worked as the sum of the rows that are not 0."""
    totals = report.totals
    total, per_layer = {"params": (totals.params, lambda row: row.params),
                        "products": (totals.macs, lambda row: row.macs),
                        "flops": (2 * totals.macs, lambda row: 2 * row.macs),
                        "activations": (totals.activations, lambda row: row.activations)}[column]
    parts = [per_layer(layer) for layer in report.layers if per_layer(layer)]
    return Cell(column, total, " + ".join(map(str, parts)) + f" = {total}" if len(parts) > 1 else str(total))


def _whole(values) -> tuple:
    return tuple(int(v) if isinstance(v, int) or (math.isfinite(v) and Fraction(v).denominator == 1) else v
                 for v in values)


def _rf_working(report: Report, step: Step, index: int) -> str:
    """`1 + (5 − 1)·1 = 5` per axis: r grows by (k − 1) times the jump so far."""
    layer = report.layers[index - 1]
    window = step.result.window
    if window is None or step.context.op.merge:
        return shape_text(layer.receptive_field)
    parts = []
    for r, k, j, out in zip(step.input_field, window.kernel, step.input_jump, layer.receptive_field):
        part = f"{r} + ({k} − 1)·{j} = {out}"
        if part not in parts:
            parts.append(part)
    return f"{'; '.join(parts)} → {shape_text(layer.receptive_field)}"


# -------------------------------------------------------------------------------------- questions


def _describe(ex: Exercise, index: int) -> str:
    layer = ex.report.layers[index - 1]
    return f"layer {index}, {layer.resolved}, whose input is {shape_text(layer.input_shape)}"


def _shape_question(ex: Exercise, index: int, qid: str) -> list[Question]:
    layer, step = ex.report.layers[index - 1], ex.steps[index - 1]
    return [Question(qid, "shape", index, f"What is the output shape of {_describe(ex, index)}?",
                     frozenset({layer.output_shape}), output_working(layer.output_shape, working_of(step)))]


def _params_question(ex: Exercise, index: int, qid: str) -> list[Question]:
    layer, step = ex.report.layers[index - 1], ex.steps[index - 1]
    return [Question(qid, "params", index, f"How many parameters does {_describe(ex, index)} have?",
                     frozenset({layer.params}), _equals(working_of(step).params, layer.params))]


def sizes_by_padding(n: int, k: int, s: int, d: int, pooling: bool = False, ceil: bool = False):
    """(p, output size) for every padding p on each side that PyTorch allows to try (pooling: p ≤ k/2;
    convolution: up to the window's extent, beyond which the size only grows)."""
    if pooling:
        return [(p, ops.pool_output_size(n, k, s, p, d, ceil)) for p in range(k // 2 + 1)]
    return [(p, ops.conv_output_size(n, k, s, p, p, d)) for p in range(d * (k - 1) + 1)]


def keeping_paddings(n: int, k: int, s: int, d: int, pooling: bool = False, ceil: bool = False):
    """The output size that "keeps the size" (⌈n/s⌉: n itself at stride 1) and every padding p that gives it."""
    target = -(-n // s)
    return target, [p for p, size in sizes_by_padding(n, k, s, d, pooling, ceil) if size == target]


def _padding_question(ex: Exercise, index: int, qid: str) -> list[Question]:
    layer, step = ex.report.layers[index - 1], ex.steps[index - 1]
    ctx = step.context
    window = ops.get(layer.op).window
    if window is None:
        raise CnnspecError(f"--question padding:{index}: layer {index} is {layer.resolved}; the padding question "
                           "is about a convolution or a pooling layer", path="--question")
    pooling = window == "pooling"
    ceil = bool(ctx.args.get("ceil"))
    kernel, stride, dilation, _ = ops.window_geometry(ctx)
    axes = list(zip(ctx.spatial, kernel, stride, dilation))
    distinct = sorted(set(axes), key=axes.index)
    questions = []
    for number, (n, k, s, d) in enumerate(distinct):
        target, paddings = keeping_paddings(n, k, s, d, pooling, ceil)
        names = [name for name, axis in zip(_axis_words(ctx.rank), axes) if axis == (n, k, s, d)]
        where = f" along its {join_words(names)} (size {n})" if len(distinct) > 1 else ""
        keep = f"{n}" if s == 1 else f"⌈{n}/{s}⌉ = {target}"
        dilated = f", dilation {d}" if d != 1 else ""
        text = (f"Layer {index} is {layer.resolved} on a {shape_text(layer.input_shape)} input{where}: kernel {k}, "
                f"stride {s}{dilated}. Which padding p, the same on both sides, keeps the size, that is, gives "
                f"an output of {keep}? If several do, any one is right; write `none` if none does.")
        if paddings:
            working = "; ".join(f"p = {p}: {ops.size_working(n, k, s, p, p, d, ceil)} = {target}" for p in paddings)
            if s > 1 and not pooling:
                working += f"; PyTorch refuses padding='same' with stride {s}, so p is written out"
            working += f" → {join_words([str(p) for p in paddings], 'or')}"
        else:
            working = _no_padding_reason(n, k, s, d, target, pooling, ceil)
        questions.append(Question(f"{qid}{'abc'[number] if len(distinct) > 1 else ''}", "padding", index, text,
                                  frozenset(paddings), working, axis=axes.index((n, k, s, d))))
    return questions


def _no_padding_reason(n: int, k: int, s: int, d: int, target: int, pooling: bool, ceil: bool) -> str:
    if s == 1 and (d * (k - 1)) % 2 and not pooling:
        before, after = ops.same_padding(k, d)
        return (f"keeping {n} needs {before + after} padding in all, an odd number that cannot be split evenly; "
                f"PyTorch's padding='same' pads {before} before and {after} after → none")
    sizes = sizes_by_padding(n, k, s, d, pooling, ceil)[:4]
    reason = f"no p gives {target} ({join_words([f'p = {p} gives {size}' for p, size in sizes])})"
    if s > 1 and not pooling:
        reason += f"; PyTorch refuses padding='same' with stride {s}"
    return reason + " → none"


def _axis_words(rank: int) -> tuple[str, ...]:
    return {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[rank]


_QUESTIONS = {"shape": _shape_question, "params": _params_question, "padding": _padding_question}
