"""The command line: `cnnspec analyze | verify | lower | import`. Catches CnnspecError, and nothing broader."""

from __future__ import annotations

import argparse
import re
import sys

from .analyze import DTYPE_BYTES
from .errors import CnnspecError, format_diagnostic
from .render import FORMATS

EXIT_ERROR = 1


def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE and --set, the arguments of every command that reads a spec."""
    parser.add_argument("file", metavar="FILE", help="the .cnn spec, or - for standard input")
    parser.add_argument("--set", dest="variables", metavar="NAME=VALUE", action="append", default=[],
                        help="give or override a variable of the spec (repeatable), e.g. --set N=3")


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
                        help="meta (default: shapes only, no weights allocated) or cpu (a random input, "
                             "whose output must be finite)")
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
    importer.add_argument("-o", "--output", metavar="OUT.cnn", help="write the spec here (default: print it)")
    return parser


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


def _variables(assignments: list[str]) -> dict:
    from .resolve import evaluate
    from .syntax import parse_value

    values = {}
    for assignment in assignments:
        match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)", assignment, re.S)
        if not match:
            raise CnnspecError(f"--set expects NAME=VALUE, e.g. --set N=3, not {assignment!r}", path="--set")
        name, text = match.groups()
        values[name] = evaluate(parse_value(text, path=f"--set {name}"))
    return values


def _analyze(args) -> int:
    from . import analyze, load, render

    report = analyze(load(args.file), batch=args.batch, dtype=args.dtype, **_variables(args.variables))
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
    from . import load, render
    from .verify import verify

    result = verify(load(args.file), device=args.device, batch=args.batch, **_variables(args.variables))
    sys.stdout.write(render.verification_text(result))
    return 0 if result.ok else EXIT_ERROR


def _write(text: str, output: str | None) -> int:
    """Text to the file named by -o, or to standard output."""
    if not output:
        sys.stdout.write(text)
        return 0
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise CnnspecError(f"cannot write: {exc.strerror or exc}", path=output) from None
    return 0


def _import(args) -> int:
    from .importer import import_file, parse_input_shape

    return _write(import_file(args.model, parse_input_shape(args.input)), args.output)


def _lower(args) -> int:
    from . import load
    from .codegen import generate

    return _write(generate(load(args.file), class_name=args.class_name, **_variables(args.variables)), args.output)


COMMANDS = {"analyze": _analyze, "verify": _verify, "import": _import, "lower": _lower}


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
