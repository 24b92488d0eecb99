"""The command line: `cnnspec analyze | verify | lower | import`. Catches CnnspecError, and nothing broader."""

from __future__ import annotations

import argparse
import re
import sys
from functools import lru_cache

from .analysis.analyze import DTYPE_BYTES
from .lang.errors import CnnspecError, format_diagnostic
from .render.text import FORMATS
from .homework.columns import COLUMNS, DEFAULT_COLUMNS, FORMATS as WORKSHEET_FORMATS

EXIT_ERROR = 1


def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE and --set, the arguments of every command that reads a spec."""
    parser.add_argument("file", metavar="FILE", help="the .cnn spec, or - for standard input")
    parser.add_argument("--set", dest="variables", metavar="NAME=VALUE", action="append", default=[],
                        help="give or override a variable of the spec (repeatable), e.g. --set N=3")
    parser.add_argument("--variant", metavar="ID", help="a student's ID, which draws their values of the spec "
                                                        "(choice(...), randint(...))")


@lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnspec", description="Describe a CNN in lecture notation; get every layer's shape, parameters, "
        "MACs, memory and receptive field without running it.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    analyze = commands.add_parser(
        "analyze", help="print each layer's output shape, params, MACs, activations and receptive field",
        description="Analyze a .cnn spec statically (PyTorch is not imported).")
    _spec_arguments(analyze)
    analyze.add_argument("--format", "-f", choices=FORMATS, default="table",
                         help="output format (default: table)")
    analyze.add_argument("--batch", "-b", type=_whole_number(1), default=1, metavar="B",
                         help="batch size for the memory estimate (default: 1)")
    analyze.add_argument("--depth", "-d", type=_whole_number(0), default=None, metavar="N",
                         help="table rows down to N levels of blocks and repeats (0: totals only; default: all)")
    analyze.add_argument("--dtype", choices=tuple(DTYPE_BYTES), default="float32",
                         help="element type for the memory estimate (default: float32)")
    verify = commands.add_parser(
        "verify", help="lower the spec to PyTorch, run it, and check every layer against the analysis",
        description="Build the spec as a torch.nn.Module, run one forward pass with hooks, and compare each "
                    "layer's output shape, params, buffers and MACs (FlopCounterMode) with the static analysis. "
                    "Exits with 1 on any mismatch. Needs PyTorch (cnnspec[torch]).")
    _spec_arguments(verify)
    verify.add_argument("--device", default="meta", metavar="DEVICE",
                        help="meta (default: shapes only, no weights allocated), or any device this PyTorch can "
                             "use: cpu, cuda, … (a random input, whose output must be finite)")
    verify.add_argument("--batch", "-b", type=_whole_number(1), default=1, metavar="B", help="batch size (default: 1)")
    lower = commands.add_parser(
        "lower", help="write the spec as standalone PyTorch source (one readable nn.Module)",
        description="Write the spec as PyTorch source that needs only torch: named submodules, loops for "
                    "repeats, a comment with the spec's line for each layer. Its parameters have the names "
                    "and shapes of cnnspec.lower(...).")
    _spec_arguments(lower)
    lower.add_argument("-o", "--output", metavar="MODEL.py", help="write the source here (default: print it)")
    lower.add_argument("--class-name", default="Net", metavar="NAME", help="the class's name (default: Net)")
    importer = commands.add_parser(
        "import", help="turn a PyTorch model (FILE.py:CLASS) into .cnn text",
        description="Trace an nn.Module with torch.fx and write it as a .cnn spec, repeats folded. "
                    "This imports FILE as Python, which runs its code: import only files you trust. "
                    "Needs PyTorch (cnnspec[torch]).")
    importer.add_argument("model", metavar="FILE.py[:CLASS]",
                          help="the Python file and the nn.Module class in it (optional if there is only one)")
    importer.add_argument("--input", "-i", required=True, metavar="SHAPE",
                          help="the shape of one sample, without the batch: 1,28,28 or 3x224x224")
    importer.add_argument("--names", action="store_true",
                          help="label and group the layers after the module's paths (`layer1: [0: [conv1: CONV(…) "
                               "…]]`), so that the lowered spec loads the module's state dict")
    importer.add_argument("-o", "--output", metavar="OUT.cnn", help="write the spec here (default: print it)")

    worksheet = commands.add_parser(
        "worksheet", help="write the spec as an exercise: a table to fill in, or its answer key",
        description="Write the exercise of the lecture notes: one row per layer with empty cells for the "
                    "output size, # parameters and # products (or the columns asked for), and extra questions. "
                    "With --key, every cell holds its answer and how it is worked out.")
    _spec_arguments(worksheet)
    _exercise_arguments(worksheet)
    worksheet.add_argument("--format", "-f", choices=WORKSHEET_FORMATS, default="md",
                           help="md, csv, yaml or tex (default: md)")
    worksheet.add_argument("--key", action="store_true", help="the answer key, with the working")
    worksheet.add_argument("-o", "--output", metavar="OUT", help="write it here (default: print it)")

    check = commands.add_parser(
        "check", help="grade a filled worksheet, or a directory of them (one per student)",
        description="Grade a student's filled worksheet (.md, .csv, .yaml or .tex) against the spec's key, with "
                    "the same --columns and --question options the worksheet was written with. Prints the "
                    "feedback; a directory grades the whole class in parallel (the student ID is each file's "
                    "name, and each student's variant is drawn from it).")
    _spec_arguments(check)
    check.add_argument("answers", metavar="ANSWERS", help="the filled worksheet, or a directory of them")
    _exercise_arguments(check)
    check.add_argument("--weights", metavar="COL=W,...",
                       help="points per cell of each column, e.g. output=2,params=1 (also questions=, total=; "
                            "default 1 each)")
    _grading_arguments(check)

    code = commands.add_parser(
        "check-code", help="grade a student's PyTorch model (FILE.py), or a directory of them",
        description="Run the student's file in a separate process with a time and memory limit, build its "
                    "nn.Module, run a dry forward pass, and compare it layer by layer with the spec: kinds, "
                    "output shapes, parameter counts. This runs the student's code (never in this process). "
                    "Needs PyTorch (cnnspec[torch]).")
    _spec_arguments(code)
    code.add_argument("student", metavar="STUDENT.py", help="the student's Python file, or a directory of them")
    code.add_argument("--class", dest="class_name", metavar="NAME",
                      help="the nn.Module class to grade (default: the only one the file defines)")
    code.add_argument("--timeout", type=_whole_number(1), default=60, metavar="S",
                      help="seconds the student's code may run (default: 60)")
    code.add_argument("--memory", type=_whole_number(64), default=4096, metavar="MB",
                      help="memory the student's code may use, in MiB (default: 4096)")
    _grading_arguments(code)
    return parser


def _exercise_arguments(parser: argparse.ArgumentParser) -> None:
    """What makes a worksheet besides the spec and its variant: its columns and its extra questions."""
    parser.add_argument("--columns", metavar="COL,...", default=",".join(DEFAULT_COLUMNS),
                        help=f"the table's columns, from {', '.join(COLUMNS)} (default: {','.join(DEFAULT_COLUMNS)})")
    parser.add_argument("--question", "-q", dest="questions", action="append", default=[], metavar="KIND:LAYER",
                        help="an extra question (repeatable): shape:N, params:N or padding:N, about layer N")


def _grading_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gradescope", metavar="results.json", help="also write Gradescope's results.json")
    parser.add_argument("--prairielearn", metavar="results.json", help="also write PrairieLearn's results.json")
    parser.add_argument("--out", metavar="DIR", default="grades",
                        help="for a directory of submissions: where roster.csv and feedback/ID.txt go "
                             "(default: grades)")
    parser.add_argument("--jobs", "-j", type=_whole_number(1), default=None, metavar="N",
                        help="submissions graded at once (default: one per core)")


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least `minimum`."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return convert


def _variables(args, program=None) -> dict:
    """The values of --set, checked against the spec (`program`, else the file read again): a name the spec
    lacks is reported as the option's mistake, since the commands themselves say nothing of --set."""
    from .analysis.resolve import evaluate, resolve
    from .lang.syntax import parse_value

    values = {}
    for assignment in args.variables:
        match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)", assignment, re.S)
        if not match:
            raise CnnspecError(f"--set expects NAME=VALUE, e.g. --set N=3, not {assignment!r}", path="--set")
        name, text = match.groups()
        values[name] = evaluate(parse_value(text, path=f"--set {name}"))
    if values:
        from . import load

        resolve(program or load(args.file), values, given_as="--set")
    return values


def _spec(args):
    """What a command works on: the parsed spec and its --set values, or with --variant the network that
    student gets (drawn as their worksheet is, invalid draws drawn again)."""
    from . import load

    program = load(args.file)
    variables = _variables(args, program)
    if not args.variant:
        return program, variables
    from .homework.worksheet import exercise

    return exercise(program, variables, args.variant).net, {}


def _analyze(args) -> int:
    from . import analyze
    from .render import text as render

    net, variables = _spec(args)
    report = analyze(net, batch=args.batch, dtype=args.dtype, **variables)
    out = sys.stdout
    if args.format == "json":
        out.write(report.to_json() + "\n")
    elif args.format == "csv":
        out.write(render.csv_text(report))
        if report.warnings:
            sys.stderr.write(render.warnings_text(report) + "\n")
    elif args.format == "markdown":
        out.write(render.markdown(report, args.depth))
    elif out.isatty():
        from rich.console import Console

        Console(file=out, highlight=False).print(render.table(report, args.depth))
        if report.warnings:
            out.write("\n" + render.warnings_text(report) + "\n")
    else:
        out.write(render.plain_table(report, args.depth))
        if report.warnings:
            out.write("\n" + render.warnings_text(report) + "\n")
    return 0


def _verify(args) -> int:
    from .render import text as render
    from .bridge.verify import verify

    net, variables = _spec(args)
    result = verify(net, device=args.device, batch=args.batch, **variables)
    sys.stdout.write(render.verification_text(result))
    return 0 if result.ok else EXIT_ERROR


def _write(text: str, output: str | None) -> int:
    """Text to the file named by -o, or to standard output."""
    if not output:
        sys.stdout.write(text)
    else:
        _write_file(output, text)
    return 0


def _import(args) -> int:
    from .bridge.importer import import_file, parse_input_shape

    return _write(import_file(args.model, parse_input_shape(args.input), names=args.names), args.output)


def _lower(args) -> int:
    from .bridge.codegen import generate

    net, variables = _spec(args)
    return _write(generate(net, class_name=args.class_name, **variables), args.output)


def _table_task(args):
    from .homework.tasks import TableTask
    from .homework.worksheet import parse_question

    columns = tuple(c.strip().lower() for c in args.columns.split(",") if c.strip())
    return TableTask(args.file, tuple(_variables(args).items()), columns,
                     tuple(parse_question(q) for q in args.questions), getattr(args, "weights", None), args.variant)


def _worksheet(args) -> int:
    from .homework.sheets import WRITERS
    from .homework.worksheet import build, exercise

    from . import load

    task = _table_task(args)
    ex = exercise(load(args.file), dict(task.variables), args.variant)
    return _write(WRITERS[args.format](build(ex, task.columns, task.questions), args.key), args.output)


def _check(args) -> int:
    from .homework.check import parse_weights

    task = _table_task(args)

    def prepare():  # the spec and the options are the instructor's: fail before grading anyone
        parse_weights(task.weights, task.worksheet(args.variant)[0].columns)

    from .homework.sheets import SUFFIXES

    return _grade(args, args.answers, task, prepare, tuple(s for group in SUFFIXES.values() for s in group),
                  processes=True)


def _check_code(args) -> int:
    from .homework.tasks import CodeTask
    from .bridge.lower import require_torch

    task = CodeTask(args.file, tuple(_variables(args).items()), args.class_name, args.variant,
                    args.timeout, args.memory)

    def prepare():  # torch and the spec are the instructor's: fail before grading anyone
        require_torch()
        task.exercise(args.variant)

    return _grade(args, args.student, task, prepare, (".py",), processes=False)


def _grade(args, target: str, task, prepare, suffixes, processes: bool) -> int:
    """Grade one submission (feedback on standard output) or a directory of them (roster and feedback files)."""
    import os
    from pathlib import Path

    from .homework import feedback
    from .homework.grading import grade_class, submissions, ungradable

    path = Path(target)
    if not path.is_dir():
        if not path.is_file():
            raise CnnspecError("no such file or directory", path=target)
        try:
            prepare()
            grade = task(path, student=args.variant or "")
        except Exception as exc:  # the grader failed, not the submission: the autograder still gets a file
            reason = exc.message if isinstance(exc, CnnspecError) else f"{type(exc).__name__}: {exc}"
            _write_results(args, ungradable(args.variant or "", f"grading failed: {reason}", 0))
            raise
        sys.stdout.write(feedback.feedback_text(grade))
        _write_results(args, grade)
        return 0
    if args.variant:
        raise CnnspecError("--variant is for one submission; in a directory each student's variant is their ID, "
                           "the file's name", path=target)
    for option in ("gradescope", "prairielearn"):
        if getattr(args, option):
            raise CnnspecError(f"--{option} is for one submission (as an autograder runs it); a directory is "
                               "graded into --out", path=target)
    prepare()
    files = submissions(path, suffixes)
    if not files:
        raise CnnspecError(f"no submissions here: the directory has no {' or '.join(suffixes)} files", path=target)
    grades = grade_class(files, task, jobs=args.jobs, processes=processes, progress=sys.stderr.isatty())
    out = Path(args.out)
    _write_file(str(out / "roster.csv"), feedback.roster_csv(grades), make_directory=True)
    for grade in grades:
        _write_file(str(out / "feedback" / f"{grade.student}.txt"), feedback.feedback_text(grade), make_directory=True)
    mean = sum(float(g.score) for g in grades) / len(grades)
    ungraded = sum(1 for g in grades if not g.gradable)
    sys.stdout.write(f"graded {len(grades)} submissions: mean {mean:.4g} of {feedback.score_text(grades[0].max_score)}"
                     + (f", {ungraded} could not be graded" if ungraded else "")
                     + f"; roster: {os.path.join(args.out, 'roster.csv')}, feedback: "
                       f"{os.path.join(args.out, 'feedback', '')}\n")
    return 0


def _write_results(args, grade) -> None:
    """The autograders' results files asked for with --gradescope and --prairielearn."""
    from .homework import feedback

    if args.gradescope:
        _write_file(args.gradescope, feedback.results_json(feedback.gradescope_results(grade)))
    if args.prairielearn:
        _write_file(args.prairielearn, feedback.results_json(feedback.prairielearn_results(grade)))


def _write_file(name: str, text: str, make_directory: bool = False) -> None:
    """Write a file the user named; only the grading directory (--out) is created when missing."""
    import os

    try:
        if make_directory:
            os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
        with open(name, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise CnnspecError(f"cannot write: {exc.strerror or exc}", path=name) from None


COMMANDS = {"analyze": _analyze, "verify": _verify, "import": _import, "lower": _lower, "worksheet": _worksheet,
            "check": _check, "check-code": _check_code}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CnnspecError as error:
        sys.stdout.flush()
        sys.stderr.write("\n".join(format_diagnostic(d) for d in error.diagnostics) + "\n")
        return EXIT_ERROR
    except BrokenPipeError:  # `cnnspec analyze x.cnn | head`: the reader left, nothing to report
        return 0


if __name__ == "__main__":
    sys.exit(main())
