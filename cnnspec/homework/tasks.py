"""Grading tasks: a spec and the instructor's options, bound into a callable that grades one submission.

They are plain data (picklable), so a class is graded in worker processes or threads by
`grading.grade_class`; each reads the spec again (specs are data, never run) and draws the student's
variant from their ID. Neither raises for anything a student's file does: that is a graded result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .grading import Grade, student_id, ungradable


@dataclass(frozen=True, slots=True)
class TableTask:
    """Grade one filled worksheet (`cnnspec check`)."""

    spec: str  # the spec's path
    variables: tuple = ()  # --set values as (name, value) pairs
    columns: tuple = ()
    questions: tuple = ()  # (kind, layer) pairs
    weights: str | None = None
    variant: str | None = None  # None: each student's own ID when grading a class

    def worksheet(self, variant: str | None):
        from ..lang.sources import load
        from .worksheet import build, exercise

        ex = exercise(load(self.spec), dict(self.variables), variant)
        return build(ex, self.columns, self.questions), ex

    def __call__(self, path: Path, student: str | None = None) -> Grade:
        from .check import check, parse_weights
        from ..lang.errors import CnnspecError
        from .sheets import Answers, read_answers

        student = student if student is not None else student_id(Path(path))
        ws, ex = self.worksheet(self.variant if self.variant is not None else student or None)
        weights = parse_weights(self.weights, ws.columns)
        try:
            answers = read_answers(str(path))
        except CnnspecError as error:
            blank = check(ws, ex, Answers({}, {}), student=student, weights=weights)
            return ungradable(student, f"the answers could not be read: {error.message}", blank.max_score)
        return check(ws, ex, answers, student=student, weights=weights)


@dataclass(frozen=True, slots=True)
class CodeTask:
    """Grade one student's PyTorch file (`cnnspec check-code`); the student's code runs in a child process."""

    spec: str
    variables: tuple = ()
    class_name: str | None = None
    variant: str | None = None
    timeout: float = 60.0
    memory_mb: int = 4096

    def exercise(self, variant: str | None):
        from ..lang.sources import load
        from .worksheet import exercise

        return exercise(load(self.spec), dict(self.variables), variant)

    def __call__(self, path: Path, student: str | None = None) -> Grade:
        from .check_code import check_code

        student = student if student is not None else student_id(Path(path))
        ex = self.exercise(self.variant if self.variant is not None else student or None)
        return check_code(ex.net, ex.report, path, student_id=student, class_name=self.class_name,
                          timeout=self.timeout, memory_mb=self.memory_mb)
