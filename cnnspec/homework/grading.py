"""Grades as data: what a checker found for one submission, and grading a whole class of them.

Both checkers (`check` for a filled worksheet, `check-code` for a student's PyTorch file) return a
`Grade`; the outputs (feedback text, roster CSV, Gradescope and PrairieLearn results) are written from it
by `feedback.py`. A submission that cannot be graded at all (an unreadable file, code that crashes) is a
`Grade` too, with `gradable=False` and one failed check that says why, never an exception out of a run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Check:
    """One graded question: a table row, an extra question, a layer of student code, a total."""

    name: str
    points: Fraction
    max_points: Fraction
    feedback: str = ""  # what was right, what was wrong and why, with the working

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass(frozen=True, slots=True)
class Grade:
    student: str  # the student's ID ("" for a single submission given without one)
    checks: tuple[Check, ...]
    summary: str = ""  # a paragraph before the per-question feedback
    gradable: bool = True  # False: the submission could not be graded; `summary` says why
    notes: tuple[str, ...] = field(default=())  # e.g. which cells earned credit carried forward

    @property
    def score(self) -> Fraction:
        return sum((c.points for c in self.checks), Fraction(0))

    @property
    def max_score(self) -> Fraction:
        return sum((c.max_points for c in self.checks), Fraction(0))


def ungradable(student: str, reason: str, max_score: Fraction | int) -> Grade:
    """A submission that could not be graded: zero out of `max_score`, with one visible failed check."""
    return Grade(student, (Check("submission", Fraction(0), Fraction(max_score), reason),), reason, gradable=False)


def student_id(path: Path) -> str:
    """The student's ID is the submission's file name without its extension (`s1234.py` → `s1234`)."""
    return path.name.split(".", 1)[0] if not path.name.startswith(".") else path.name


def submissions(directory: Path, suffixes: Sequence[str]) -> list[Path]:
    """The files of a class, one per student, in name order; hidden files and other kinds are skipped."""
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes)


def grade_class(paths: Sequence[Path], grade_one: Callable[[Path], Grade], *, jobs: int | None = None,
                processes: bool = True, progress: bool = False) -> list[Grade]:
    """Grade every submission in parallel (`jobs` workers, default one per core), in the order of `paths`.

    `grade_one` must never raise for a bad submission, and must pickle (a task of tasks.py) so that
    worker processes can run it. `processes=False` uses threads, for checkers whose work is already a
    child process each.
    """
    jobs = jobs or os.cpu_count() or 1
    grades: list[Grade | None] = [None] * len(paths)
    pool: Executor = (ProcessPoolExecutor if processes and jobs > 1 else ThreadPoolExecutor)(max_workers=jobs)
    with pool, _progress(len(paths), progress) as advance:
        futures = {pool.submit(grade_one, path): i for i, path in enumerate(paths)}
        for future in as_completed(futures):
            grades[futures[future]] = future.result()
            advance()
    return grades  # type: ignore[return-value]


@contextmanager
def _progress(total: int, shown: bool):
    """A rich progress bar on standard error while a class is graded; yields the step to call per grade."""
    if not shown:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("grading", total=total)
        yield lambda: bar.advance(task)
