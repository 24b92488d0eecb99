"""Grading a filled worksheet: read what the student wrote, compare it exactly with the key, credit
answers that follow from the student's own earlier slip, and name the mistake behind a wrong number.

- Reading: sizes as `32x24x24`, `32 × 24 × 24`, `(32, 24, 24)`, `[-1, 32, 24, 24]`; counts as `51264`,
  `51,264`, `51 264`; a worked answer (`32·(5²+1) = 832`) is read after its last `=` or `→`. Rounded
  forms (`1.6K`, `4.6e5`) are refused with a note; anything else unreadable scores nothing.
- Carried forward: each layer is also run (by the registry's rule, through `analyze.apply`) on the
  student's own answer for its input; a cell that matches that is credited, and the grade says so.
- Mistakes: each wrong cell is compared with the numbers a known slip would give (bias forgotten, ceil
  for floor, …); a match names it. The slips are the only arithmetic here, and each is a wrong rule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from ..analysis.analyze import Step, apply
from ..lang.errors import CnnspecError
from .grading import Check, Grade
from .sheets import Answers
from ..lang.words import shape_text
from .columns import COLUMNS
from .worksheet import NOT_ASKED, Cell, Exercise, Question, Worksheet

SHAPED = ("output", "rf")  # columns whose answers are shapes; the others are whole numbers
DEFAULT_WEIGHT = Fraction(1)


# ------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class Reading:
    """What a cell's text can mean: its possible values (`1,024` is 1024 or 1×24) or why it has none."""

    values: tuple = ()
    problem: str = ""  # set when the text cannot be read as an answer ("" and no values: left blank)

    @property
    def blank(self) -> bool:
        return not self.values and not self.problem


_ROUNDED = re.compile(r"\d(\.\d+)?\s*[kKmMgGbB]\b|\d[.,]?\d*\s*(thousand|million|billion)\b", re.I)
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_THOUSANDS = re.compile(r"^\d{1,3}([,' \u2009\u202f_]\d{3})+$")
_BATCH = {"-1", "n", "b", "none", "batch", "?", "batch_size"}


def read_value(text: str, shaped: bool) -> Reading:
    """The possible values of a student's cell: tuples for a size, ints for a count."""
    text = " ".join(str(text).split())
    if not text or text in ("—", "-", "---"):
        return Reading()
    answer = re.split(r"=|→|->", text)[-1].strip()
    if not answer:
        return Reading(problem=f"`{text}` ends without a value")
    if _ROUNDED.search(answer):
        return Reading(problem=f"`{answer}` is rounded: write the exact whole number")
    if shaped:
        return _read_shape(answer)
    number = _read_number(answer)
    if isinstance(number, str):
        return Reading(problem=number)
    return Reading((number,))


def _read_number(text: str) -> int | str:
    """A whole number, or why the text is not one."""
    text = re.sub(r"\s*(params|parameters|products|macs|mults|multiplications|flops|weights)\.?$", "", text,
                  flags=re.I).strip()
    if _THOUSANDS.match(text):
        text = re.sub(r"[,' \u2009\u202f_]", "", text)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):
        return int(float(text))
    if _SCIENTIFIC.match(text):
        value = Fraction(text.lower().split("e")[0]) * Fraction(10) ** int(text.lower().split("e")[1])
        if value.denominator == 1:
            return int(value)
        return f"`{text}` is not a whole number"
    if re.fullmatch(r"[+-]?\d*\.\d+", text):
        return f"`{text}` is not a whole number: counts are exact"
    return f"`{text}` is not a number"


def _read_shape(text: str) -> Reading:
    inner = text.strip()
    bracketed = inner[:1] in "([{" and inner[-1:] in ")]}"
    if bracketed:
        inner = inner[1:-1]
    inner = inner.replace("torch.Size", "").strip("()[] ")
    readings = []
    if not bracketed and _THOUSANDS.match(inner):  # `1,024`: a vector of 1024, unless it is 1×24
        readings.append((int(re.sub(r"\D", "", inner)),))
    parts = [p.strip() for p in re.split(r"\s*(?:×|x|X|\*|,|\s)\s*", inner) if p.strip()]
    if parts and parts[0].lower() in _BATCH:
        parts = parts[1:]
    if parts and all(re.fullmatch(r"\d+", p) for p in parts):
        readings.append(tuple(int(p) for p in parts))
    if not readings:
        return Reading(problem=f"`{text}` is not a size (write it as C×H×W, e.g. 32×24×24)")
    return Reading(tuple(dict.fromkeys(readings)))


# ------------------------------------------------------------------------------------ mistakes


def mistakes(step: Step, column: str, ex: Exercise) -> list[tuple[object, str]]:
    """(the value a known slip gives, what the slip is) for one layer's cell: the layer kind's own slips
    (its registry entry), and taking FLOPs for products or the reverse; only distinct wrong values."""
    ctx, result, op = step.context, step.result, step.context.op
    right = result.shape if column in SHAPED else _cell_value(result, column)
    found: list[tuple[object, str]] = []

    def add(value, message):
        if value != right and value not in [v for v, _ in found]:
            found.append((value, message))

    others = tuple((layer.index, layer.output_shape) for layer in ex.report.layers)
    for slip in op.slips(ctx, result, others) if op.slips else ():
        if slip.column == column:
            add(slip.value, slip.message)
        elif slip.column == "products" and column == "flops":
            add(2 * slip.value, slip.message)
    if column == "products":
        add(2 * result.macs, f"those are FLOPs (2 per multiply–accumulate); a product is one multiply–accumulate: "
                             f"{result.macs}")
    elif column == "flops":
        add(result.macs, f"those are MACs (products); FLOPs count 2 per multiply–accumulate: {2 * result.macs}")
    return found


def _cell_value(result, column: str):
    return {"params": result.params, "products": result.macs, "flops": 2 * result.macs,
            "activations": math.prod(result.shape)}.get(column)


# ------------------------------------------------------------------------------------ grading


@dataclass(frozen=True, slots=True)
class CellGrade:
    column: str
    given: str
    status: str  # "correct" | "carried" | "wrong" | "unreadable" | "blank"
    points: Fraction
    max_points: Fraction
    message: str


def parse_weights(text: str | None, columns) -> dict[str, Fraction]:
    """`output=2,params=1`: points per cell of each column (and `questions=`, `total=`); default 1 each."""
    weights = {c: DEFAULT_WEIGHT for c in (*columns, "questions", "total")}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in weights:
            raise CnnspecError(f"--weights: unknown column `{name}`; the weighted ones are "
                               f"{', '.join(weights)}", path="--weights")
        try:
            weights[name] = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise CnnspecError(f"--weights: `{part.strip()}` needs a number after `=`", path="--weights") from None
        if weights[name] < 0:
            raise CnnspecError(f"--weights: `{part.strip()}` is negative", path="--weights")
    return weights


def check(ws: Worksheet, ex: Exercise, answers: Answers, *, student: str = "",
          weights: dict[str, Fraction] | None = None) -> Grade:
    """Grade a filled worksheet against its key; never raises for what the student wrote."""
    weights = weights or parse_weights(None, ws.columns)
    own_outputs: dict[int, tuple] = {0: ex.report.input_shape}  # the student's readable output answers
    checks, carried_cells = [], []
    for row, step in zip(ws.rows, ex.steps):
        key = str(row.index)
        given_output = read_value(answers.cells.get((key, "output"), ""), True)
        carried = _carried(row.index, step, ex, own_outputs)
        if "output" in ws.columns and given_output.values:
            own_outputs[row.index] = _best(given_output, row.cells[ws.columns.index("output")].answer, carried)
        else:
            own_outputs[row.index] = ex.report.layers[row.index - 1].output_shape if not carried \
                else carried.shape
        grades = []
        for cell in row.cells:
            text = answers.cells.get((key, cell.column), "")
            grade = _grade_cell(cell, text, step, ex, carried, weights[cell.column], own_outputs[row.index])
            grades.append(grade)
            if grade.status == "carried":
                carried_cells.append(f"row {key} {COLUMNS[cell.column]}")
        checks.append(_row_check(f"row {key}: {row.layer}", grades))
    if ws.totals:
        grades = [_grade_total(cell, answers, ws, weights["total"]) for cell in ws.totals]
        carried_cells += [f"total {COLUMNS[g.column]}" for g in grades if g.status == "carried"]
        checks.append(_row_check("total", grades))
    for question in ws.questions:
        checks.append(_grade_question(question, answers.questions.get(question.id.lower(), ""), ex,
                                      weights["questions"]))
    notes = ()
    if carried_cells:
        notes = (f"Credited as carried forward (right for your own earlier answer, though that one was wrong): "
                 f"{', '.join(carried_cells)}.",)
    score = sum((c.points for c in checks), Fraction(0))
    total = sum((c.max_points for c in checks), Fraction(0))
    wrong = sum(1 for c in checks if not c.passed)
    summary = (f"{ws.title}{f', variant {ws.variant}' if ws.variant else ''}: "
               f"{_points(score)} of {_points(total)} points; "
               + ("every answer is right." if not wrong else
                  f"{wrong} of {len(checks)} rows and questions {'needs' if wrong == 1 else 'need'} another look."))
    return Grade(student, tuple(checks), summary, notes=notes)


def _points(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _carried(index: int, step: Step, ex: Exercise, own: dict[int, tuple]):
    """The layer's result on the student's own input, when that differs from the true one; else None."""
    layer = ex.report.layers[index - 1]
    try:
        if step.context.op.merge:
            branches = tuple(own.get(i, ex.report.layers[i - 1].output_shape if i else ex.report.input_shape)
                             for i in layer.inputs)
            if branches == tuple(step.context.branches) or not all(
                    len(shape) == len(right) for shape, right in zip(branches, step.context.branches)):
                return None
            return apply(step.node, branches[0], branches)[1]
        shape = own.get(step.source)
        if shape is None or shape == step.context.shape or len(shape) != len(step.context.shape):
            return None  # a shape with other axes than the true one follows from nothing
        return apply(step.node, shape)[1]
    except CnnspecError:
        return None  # the layer cannot take the student's shape: nothing follows from it


def _best(reading: Reading, right, carried):
    """Which reading of an ambiguous answer to carry forward: the right one, or the consistent one."""
    if right in reading.values:
        return right
    if carried is not None and carried.shape in reading.values:
        return carried.shape
    return reading.values[0]


def _consistent(step: Step, carried, column: str, own_output) -> list[tuple[object, str]]:
    """Values that are wrong but follow from the student's own answers, with what they follow from:
    the layer run on the student's own input (an earlier slip), or this layer's counts scaled to the
    student's own output size (a product or an activation count that agrees with a wrong size)."""
    found = []
    if carried is not None and column != "rf":
        value = carried.shape if column == "output" else _cell_value(carried, column)
        found.append((value, "follows from your own earlier answer"))
    result = step.result
    scaled = column in ("products", "flops", "activations")
    if scaled and isinstance(own_output, tuple) and own_output != result.shape:
        outputs = math.prod(result.shape)
        if column == "activations":
            found.append((math.prod(own_output), f"is the size of your own output, {shape_text(own_output)}"))
        elif result.macs and result.macs % outputs == 0:  # a fixed cost per output element: conv, fc
            value = result.macs // outputs * math.prod(own_output) * (2 if column == "flops" else 1)
            found.append((value, f"follows from your own output size for this layer, {shape_text(own_output)}"))
    return found


def _judge(column: str, text: str, answer, working: str, prefix: str, weight: Fraction, follows=(),
           diagnose=None) -> CellGrade:
    """One answer against the key: blank, unreadable, right, right for the student's own earlier answers
    (`follows`: (value, what it follows from)), or wrong with the slip `diagnose(values)` names."""
    reading = read_value(text, isinstance(answer, tuple))
    if reading.blank:
        return CellGrade(column, text, "blank", Fraction(0), weight, f"{prefix}no answer. Expected {working}")
    if reading.problem:
        return CellGrade(column, text, "unreadable", Fraction(0), weight,
                         f"{prefix}unreadable: {reading.problem}. Expected {working}")
    values = [_normal(v, answer) for v in reading.values]
    if answer in values:
        return CellGrade(column, text, "correct", weight, weight, f"{prefix}{_shown(answer)} ✓")
    for follow, why in follows:
        if follow in values:
            return CellGrade(column, text, "carried", weight, weight, f"{prefix}{_shown(follow)} {why}")
    diagnosis = diagnose(values) if diagnose else ""
    message = f"{prefix}you wrote {_shown(values[0])}; expected {working}"
    return CellGrade(column, text, "wrong", Fraction(0), weight,
                     message + (f". Mistake: {diagnosis}" if diagnosis else ""))


def _grade_cell(cell: Cell, text: str, step: Step, ex: Exercise, carried, weight: Fraction, own_output) -> CellGrade:
    name = COLUMNS[cell.column]
    if cell.working == NOT_ASKED:
        return CellGrade(cell.column, text, "correct", Fraction(0), Fraction(0), f"{name}: not asked")
    follows = [(value, f"{why} (the key has {cell.working}); credited as carried forward")
               for value, why in _consistent(step, carried, cell.column, own_output)]
    return _judge(cell.column, text, cell.answer, cell.working, f"{name}: ", weight, follows,
                  lambda values: _diagnose(values, step, cell.column, ex))


def _normal(value, answer):
    """A vector written as a plain number (256) is the 1-element shape (256,) when the answer is a shape."""
    if isinstance(answer, tuple) and isinstance(value, int):
        return (value,)
    return value


def _shown(value) -> str:
    return shape_text(value) if isinstance(value, tuple) else str(value)


def _diagnose(values, step: Step, column: str, ex: Exercise) -> str:
    for value, message in mistakes(step, column, ex):
        if _normal(value, values[0]) in values or value in values:
            return message
    return ""


def _grade_total(cell: Cell, answers: Answers, ws: Worksheet, weight: Fraction) -> CellGrade:
    own = [read_value(answers.cells.get((str(row.index), cell.column), ""), False) for row in ws.rows]
    follows = [(sum(r.values[0] for r in own), f"is the sum of your own column (the key has {cell.answer}); "
                                               "credited as carried forward")] if all(r.values for r in own) else []
    return _judge(cell.column, answers.cells.get(("total", cell.column), ""), cell.answer, cell.working,
                  f"total {COLUMNS[cell.column]}: ", weight, follows)


def _row_check(name: str, grades: list[CellGrade]) -> Check:
    return Check(name, sum((g.points for g in grades), Fraction(0)), sum((g.max_points for g in grades), Fraction(0)),
                 "\n".join(g.message for g in grades))


def _grade_question(question: Question, text: str, ex: Exercise, weight: Fraction) -> Check:
    name = f"{question.id}: {question.kind} of layer {question.layer}"
    if question.kind == "padding":
        return _grade_padding(question, text, name, weight)
    column = "output" if question.kind == "shape" else "params"
    step = ex.steps[question.layer - 1]
    grade = _judge(column, text, next(iter(question.answers)), question.working, "", weight,
                   diagnose=lambda values: _diagnose(values, step, column, ex))
    return _row_check(name, [grade])


def _grade_padding(question: Question, text: str, name: str, weight: Fraction) -> Check:
    right = sorted(question.answers)
    expected = question.working
    words = " ".join(text.split()).lower()
    if not words:
        return Check(name, Fraction(0), weight, f"no answer. Expected {expected}")
    # The answer is what follows the last arrow, or the values given as `p = 1`, or the only numbers.
    answer = re.split(r"→|->", words)[-1]
    numbers = [int(n) for n in re.findall(r"\bp\s*=\s*(\d+)", answer)] or [int(n) for n in re.findall(r"\d+", answer)]
    if "none" in answer or answer.strip(" .") in ("no", "impossible", "-"):
        if not right:
            return Check(name, weight, weight, "none ✓")
        return Check(name, Fraction(0), weight, f"you wrote none; expected {expected}")
    if not numbers:
        return Check(name, Fraction(0), weight, f"unreadable: `{text}` is neither a padding nor `none`. "
                                                f"Expected {expected}")
    wrong = [n for n in numbers if n not in question.answers]
    if not wrong:
        also = [str(p) for p in right if p not in numbers]
        return Check(name, weight, weight, f"{', '.join(map(str, numbers))} ✓" +
                     (f" (also right: {', '.join(also)})" if also else ""))
    return Check(name, Fraction(0), weight, f"p = {', '.join(map(str, wrong))} does not keep the size; "
                                            f"expected {expected}")
