"""Grades written out: feedback text for the student, the class roster, and the autograders' results files.

Gradescope reads `results.json` with `score`, `max_score`, `output` and `tests[]` (`name`, `score`,
`max_score`, `output`, `visibility`); PrairieLearn's external grader reads `gradable`, `score` in [0, 1],
`message`, `output` and `tests[]` (`name`, `points`, `max_points`, `message`, `output`).
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

from .grading import Grade


def number(value: Fraction | int) -> int | float:
    """A score as JSON writes it: an int when whole, else a float rounded to 4 places."""
    value = Fraction(value)
    return int(value) if value.denominator == 1 else round(float(value), 4)


def score_text(value: Fraction | int) -> str:
    value = number(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def feedback_text(grade: Grade) -> str:
    """What the student reads: the score, then each question with its points and feedback."""
    who = f" for {grade.student}" if grade.student else ""
    lines = [f"Score{who}: {score_text(grade.score)} / {score_text(grade.max_score)}"]
    if grade.summary:
        lines += ["", grade.summary]
    for check in grade.checks:
        mark = "✓" if check.passed else "✗"
        lines += ["", f"{mark} {check.name}: {score_text(check.points)} / {score_text(check.max_points)}"]
        lines += [f"  {line}" if line else "" for line in check.feedback.splitlines()]
    if grade.notes:
        lines += [""] + list(grade.notes)
    return "\n".join(lines) + "\n"


def gradescope_results(grade: Grade) -> dict:
    return {
        "score": number(grade.score),
        "max_score": number(grade.max_score),
        "output": feedback_text(grade),
        "tests": [{"name": c.name, "score": number(c.points), "max_score": number(c.max_points),
                   "output": c.feedback, "visibility": "visible"} for c in grade.checks],
    }


def prairielearn_results(grade: Grade) -> dict:
    fraction = grade.score / grade.max_score if grade.max_score else Fraction(0)
    return {
        "gradable": grade.gradable,
        "score": number(fraction),
        "message": grade.summary or f"{score_text(grade.score)} / {score_text(grade.max_score)}",
        "output": feedback_text(grade),
        "tests": [{"name": c.name, "points": number(c.points), "max_points": number(c.max_points),
                   "message": c.feedback.splitlines()[0] if c.feedback else "", "output": c.feedback}
                  for c in grade.checks],
    }


def results_json(results: dict) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def roster_csv(grades: list[Grade]) -> str:
    """`student_id, score, max_score`, then one column per question (in the order they first appear)."""
    questions: dict[str, None] = {}
    for grade in grades:
        for check in grade.checks:
            questions.setdefault(check.name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "score", "max_score", *questions])
    for grade in grades:
        points = {check.name: score_text(check.points) for check in grade.checks}
        missing = "" if grade.gradable else "0"  # an ungradable submission scores nothing on every question
        writer.writerow([grade.student, score_text(grade.score), score_text(grade.max_score),
                         *(points.get(name, missing) for name in questions)])
    return out.getvalue()
