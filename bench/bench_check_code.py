"""`check-code` on a class of 200 PyTorch submissions: the fork server against a fresh process each.

The class is made in a temporary directory from the test fixtures (tests/fixtures/submissions/code), each
file a copy with its student's name in a comment, graded against specs/lenet_like.cnn: most correct, the
rest with the mistakes of the tests (wrong padding, another kind of layer, a flatten that does not fit, a
syntax error, an exception, a constructor with arguments, two classes, a print flood, a native crash) and
two that hang, which the time limit (2 s here, 60 s by default) stops. They are graded as the CLI grades a
class of code: `grade_class(paths, grade_one, processes=False)`, one thread per CPU, each grading a child
process. The fresh-process runner pays torch's import for every submission, so it grades only the first
--fresh of them.

    python bench/bench_check_code.py [--fresh N] [--write]

With --write, the section between the markers in BENCHMARKS.md is replaced (or added at the end).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sections import write_section

import cnnspec
from cnnspec.homework import check_code as student_code
from cnnspec.homework.grading import Grade, grade_class

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "submissions" / "code"
SPEC = ROOT / "specs" / "lenet_like.cnn"
TIMEOUT = 2.0
# fixture → how many of the 200 students hand in that file
CLASS = {
    "lenet_like_functional.py": 60, "lenet_like_sequential.py": 50, "lenet_like_wrong_padding.py": 25,
    "lenet_like_extras.py": 20, "lenet_like_wrong_flatten.py": 15, "syntax_error.py": 8, "raises_in_init.py": 8,
    "needs_arguments.py": 4, "two_classes.py": 4, "lenet_like_prints.py": 2, "crashes_natively.py": 2,
    "hangs_in_forward.py": 2,
}
NET = cnnspec.resolve(cnnspec.load(SPEC))
REPORT = cnnspec.analyze(NET)


def grade_one(path: Path) -> Grade:
    return student_code.check_code(NET, REPORT, path, student_id=path.stem, timeout=TIMEOUT)


def make_class(directory: Path) -> list[Path]:
    """200 files, the fixtures interleaved (as names sort), each with its student's name in a comment."""
    pool = [name for name, count in CLASS.items() for _ in range(count)]
    pool = [pool[(i * 37) % len(pool)] for i in range(len(pool))]  # 37 is prime to 200: a permutation
    paths = []
    for i, name in enumerate(pool):
        path = directory / f"s{i + 1:03d}.py"
        path.write_text(f"# student s{i + 1:03d}\n" + (FIXTURES / name).read_text(encoding="utf-8"), encoding="utf-8")
        paths.append(path)
    return paths


def outcome(grade: Grade) -> str:
    if not grade.gradable:
        return "time limit" if "the time limit" in grade.summary else "could not be graded"
    return "full marks" if grade.score == grade.max_score else "partial marks"


def timed(paths: list[Path]) -> tuple[float, list[Grade]]:
    start = time.perf_counter()
    grades = grade_class(paths, grade_one, processes=False)
    return time.perf_counter() - start, grades


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", type=int, default=20, help="submissions graded with a fresh process each")
    parser.add_argument("--write", action="store_true", help="rewrite this section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    if sum(CLASS.values()) != 200:
        raise SystemExit("the class must have 200 students")

    directory = Path(tempfile.mkdtemp(prefix="cnnspec-bench-class-"))
    try:
        paths = make_class(directory)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        student_code._server()
        startup = time.perf_counter() - start
        fork_time, fork_grades = timed(paths)
        student_code.USE_FORK_SERVER = False
        fresh_time, fresh_grades = timed(paths[:args.fresh])
        student_code.USE_FORK_SERVER = True
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    same = [(g.score, g.summary) for g in fork_grades[:args.fresh]] == [(g.score, g.summary) for g in fresh_grades]
    counts = collections.Counter(outcome(g) for g in fork_grades)
    cpus = os.cpu_count()
    lines = [
        "## `cnnspec check-code`: a class of 200 code submissions (issue 5)",
        "",
        f"`python bench/bench_check_code.py --fresh {args.fresh} --write` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpus} CPUs, load average {load:.2f} before the run. "
        f"200 made-up submissions of `specs/lenet_like.cnn` (copies of the test fixtures: "
        f"{', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}), graded with "
        f"`grade_class(paths, grade_one, processes=False)`: {cpus} threads, each grading a child process. "
        f"Time limit {TIMEOUT:g} s, so that the 2 submissions that hang cost {TIMEOUT:g} s of a thread each.",
        "",
        "| runner | submissions | wall time | per submission |",
        "|:--|--:|--:|--:|",
        f"| fork server (Linux): workers forked from a process that has imported torch | 200 | {fork_time:.2f} s | "
        f"{fork_time / 200 * 1000:,.0f} ms |",
        f"| a fresh process per submission (elsewhere; the fallback) | {args.fresh} | {fresh_time:.2f} s | "
        f"{fresh_time / args.fresh * 1000:,.0f} ms |",
        "",
        f"Starting the fork server (import torch, then one small model through the importer, which imports "
        f"`torch._dynamo`) took {startup:.2f} s, once per grading process, before the timed run. Without the hangs "
        f"(2 × {TIMEOUT:g} s on {cpus} threads) the fork server's 198 other submissions take about "
        f"{max(0.0, fork_time - 2 * TIMEOUT / cpus) / 198 * 1000:,.0f} ms each. "
        f"The first {args.fresh} grades of both runners are {'identical' if same else '**not identical**'}.",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write:
        write_section("bench_check_code", section)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
