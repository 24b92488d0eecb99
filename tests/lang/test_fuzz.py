"""The fuzz test: no input makes cnnspec raise anything but CnnspecError, and the CLI never prints a traceback.

Inputs (how many: tests/support/profiles.py, 3,000 by default and 50,000 with HYPOTHESIS_PROFILE=fuzz):

1. texts derived from the grammar itself: cnnspec.lark's rules, expanded at random, with the registry's layer
   and argument names and numbers that stress the shape rules in the places of its terminals; half of them
   follow an INPUT, so that they reach resolving and the rules, not only the parser;
2. every file of specs/ (and a few texts with every layer kind) mutated token by token and character by
   character, read as that file (its imports found beside it);
3. random text, and extremes: fragments repeated until the text is long or deep (the longest and deepest, with
   their whole messages, are test_limits.py's).

Each goes through parse, resolve, analyze and every renderer (the table, Markdown, CSV, JSON), then through
the CLI in-process: `cnnspec analyze FILE` in a format that changes from input to input.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark
from profiles import FUZZ_INPUTS
from test_properties import rarely

import cnnspec
from cnnspec import ops
from cnnspec.cli import main
from cnnspec.render import text as render

SPECS_DIR = Path(__file__).resolve().parents[2] / "specs"
SPEC_FILES = sorted(SPECS_DIR.glob("*.cnn"))

# ------------------------------------------------------------------------------ 1. from the grammar

GRAMMAR = Lark.open_from_package("cnnspec.lang", "cnnspec.lark", parser="lalr", start=["start", "chain"])
RULES: dict[str, list[list[str]]] = {}
for _rule in GRAMMAR.rules:
    RULES.setdefault(_rule.origin.name, []).append([symbol.name for symbol in _rule.expansion])
for _name, _expansions in RULES.items():  # hypothesis favours the first choice: let a list's be to grow
    _expansions.sort(key=lambda expansion: _name not in expansion)

ARGUMENT_NAMES = sorted({n for op in ops.OPS for p in op.params for n in (p.name, *p.aliases)})
LAYER_NAMES = [name for name in ops.layer_names() if not ops.lookup(name)[0].merge]
BARE_LAYERS = [name for name in LAYER_NAMES if not any(p.required for p in ops.lookup(name)[0].params)
               and name != "INPUT"]
VARIABLES = ["N", "x", "c", "k"]
WORDS = ["same", "valid", "nearest", "bilinear", "area", "row", "true", "false", "in"]
# A NAME is drawn from what is written in its place: a layer where a layer goes, an argument's name before `=`.
NAMES_BY_PLACE = {
    "layer": LAYER_NAMES * 3 + ["b1", "b2", "INPUT"], "bare layer": BARE_LAYERS, "default_stmt": LAYER_NAMES,
    "atom": ["ADD", "CONCAT", "MUL"],
    "label": ["a", "b", "stem", "relu"], "let_stmt": VARIABLES, "param": VARIABLES, "block_def": ["b1", "b2"],
    "arg": ARGUMENT_NAMES, "unary": VARIABLES + WORDS,
    "function": ["min", "max", "round", "floor", "ceil", "abs", "choice", "randint", "sqrt"],
}
TERMINALS = {
    "NAME": LAYER_NAMES + ARGUMENT_NAMES + VARIABLES + WORDS,
    "INT": ["1", "1", "2", "2", "3", "4", "8", "16", "0", "5", "7", "64", "1000", "100000001", "9" * 30],
    "FLOAT": ["0.5", "0.0", "1.5", "1e9", "2.0", "1e-9"],
    "STRING": ['"resnet_blocks.cnn"', '"missing.cnn"', "'bilinear'", '"/etc/passwd"', '"../x.cnn"', '"a"'],
    "ARROW": ["->", "→"], "STAR": ["*", "×"], "COMPARE": ["==", "!=", "<", ">", "<=", ">="],
}
for _terminal in GRAMMAR.terminals:
    if _terminal.name not in TERMINALS and _terminal.pattern.type == "str":
        TERMINALS[_terminal.name] = [_terminal.pattern.value]


def _heights() -> dict[str, int]:
    """The height of the shallowest derivation of every nonterminal: beyond the depth budget, the generator
    takes an expansion of least height, so every derivation ends."""
    height = {name: 0 for name in TERMINALS}
    changed = True
    while changed:
        changed = False
        for origin, expansions in RULES.items():
            for expansion in expansions:
                if all(symbol in height for symbol in expansion):
                    h = 1 + max((height[s] for s in expansion), default=0)
                    if h < height.get(origin, 10**9):
                        height[origin], changed = h, True
    return height


HEIGHT = _heights()


def _expansion_height(expansion: list[str]) -> int:
    return max((HEIGHT[s] for s in expansion), default=0)


def derive(rng, start: str = "start", budget: int = 9) -> str:
    """A text the grammar derives from `start`, its terminals drawn from TERMINALS, its choices from `rng` (one
    hypothesis draw drives the whole derivation: drawing each choice through hypothesis cost 30 times more)."""
    tokens: list[str] = []
    stack: list[tuple[str, int, str]] = [(start, 0, "")]
    while stack:  # a walk, not a recursion: derivations may be long
        symbol, depth, place = stack.pop()
        if symbol in TERMINALS:
            choices = NAMES_BY_PLACE.get(place, TERMINALS[symbol]) if symbol == "NAME" else TERMINALS[symbol]
            tokens.append(rng.choice(choices))
            continue
        expansions = RULES[symbol]
        # Mostly the simplest expansion (a number for an expression), so that many texts are networks that reach
        # the shape rules; always the simplest once the budget of depth or length is spent.
        listing = "_star_" in symbol  # a `x*` list: grows by one more with even odds, whatever the depth
        if depth >= budget or len(tokens) > 400 or (rng.random() < 0.3 if listing else rng.random() < 0.6):
            least = min(_expansion_height(e) for e in expansions)
            expansions = [e for e in expansions if _expansion_height(e) == least]
        if symbol == "atom" and rng.random() < 0.75:  # mostly a layer, not a group or a merge
            expansions = [["layer"]]
        expansion = rng.choice(expansions)
        if listing:  # the list's own depth does not count: it nests one level per element
            depth -= 1
        place = "function" if symbol == "unary" and "LPAR" in expansion[1:2] else \
            "bare layer" if symbol == "layer" and expansion == ["NAME"] else symbol
        stack.extend((s, depth + 1, place) for s in reversed(expansion))
    return rng.choice([" ", " ", "\n", ""]).join(tokens)


def program(rng) -> str:
    """Statements from the grammar, then a chain after an INPUT; or anything `start` derives."""
    if rng.random() < 0.5:
        return derive(rng)
    statements = derive(rng).split("INPUT")[0] if rng.random() < 0.5 else ""
    shape = rng.choice(["3, 16, 16", "1, 28, 28", "8", "2, 20", "1, 4, 8, 8", "16, 7, 7"])
    return f"{statements}\nINPUT({shape}) -> {derive(rng, 'chain')}"


def grammar_programs():
    return st.randoms(use_true_random=False).map(program)


# ------------------------------------------------------------------------------ 2. mutations

# Pieces worth inserting: the grammar's own punctuation and keywords, odd whitespace and characters.
FRAGMENTS = ["(", ")", "[", "]", ",", "=", "->", "→", "-", ">", "*", "×", "+", "/", "//", "%", ".", "#", "\n",
             " ", "\t", "\r", "\f", "\v", "\ufeff", "\u2028", "\x85", "\x00", '"', "'", "_", "e", "é", "😀",
             "let x = 3\n", "default CONV(k=3)\n", "let", "default", "INPUT", "INPUT(3, 8, 8) -> ", "[", "] * 2",
             " * 0", "-> FC(10)", "-> CONV(4, k=3)", "-> FLATTEN", "-> RESIZE(scale=2)", "k=", "p=same",
             "{", "}", "|", ":", "a: ", "ADD {", "block", "import", "if", "else", "and", "or", "not", "==",
             "<", "block b(x) { RELU }\n", "import 'no_such.cnn'\n", 'import "resnet_blocks.cnn"\n']
# Numbers (and things in number position) that stress evaluation and the shape rules.
FLOATS = ["0.0", "-0.5", "1e-320", "1e300", "1e308", "1e309", "1e154 * 1e154", "(1e308 * 10 - 1e308 * 10)",
          "9" * 400 + ".0"]
NUMBERS = ["0", "1", "-1", "2", "-0.0", "0.5", "3.5", "1e-9", "1e-320", "1e300", "1e308", "1e309", "1e308 * 10",
           "(1e308 * 10 - 1e308 * 10)", "99999999", "100000000", "100000001", "10001", "9" * 40, "9" * 400,
           "9" * 5000, "1_000", "7 // 0", "1 / 0", "2 % 0", "1 / 3", "7 / 2", "2.5 // 0.5", "(2, 3)", "(1,)",
           "(2, 3, 4, 5)", "(0, 0)", "same", "valid", "true", "x", "'bilinear'", '"3"', "-(2)", "+3"]
NAMES = TERMINALS["NAME"] + ["CONVV", "_", "True", "let", "default", "block", "import"]

NUMBER_RE = re.compile(r"(?<![A-Za-z_0-9.])[0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")
FLOAT_RE = re.compile(r"(?<![A-Za-z_0-9.])[0-9]*\.[0-9]+(?:[eE][-+]?[0-9]+)?")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _fragment(draw) -> str:
    return draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(min_size=1, max_size=3)))


def _replace_match(draw, text: str, pattern: re.Pattern, choices: list[str]) -> str:
    matches = list(pattern.finditer(text))
    if not matches:
        return text
    m = draw(st.sampled_from(matches))
    return text[: m.start()] + draw(st.sampled_from(choices)) + text[m.end():]


def mutate(draw, text: str) -> str:
    # Token swaps mostly keep the text parseable and so reach evaluation and the shape rules; character
    # edits mostly test the parser's errors.
    kind = draw(st.sampled_from(["number", "float", "name", "delete", "insert", "replace", "truncate",
                                 "duplicate", "number", "float", "number", "float", "name"]))
    if kind == "number":
        return _replace_match(draw, text, NUMBER_RE, NUMBERS)
    if kind == "float":  # where a float is, a float is likely to be taken: scales, slopes, probabilities
        return _replace_match(draw, text, FLOAT_RE, FLOATS)
    if kind == "name":
        return _replace_match(draw, text, NAME_RE, NAMES)
    i = draw(st.integers(0, len(text)))
    if kind == "truncate":
        return text[:i]
    j = draw(st.integers(i, min(len(text), i + 12)))
    if kind == "delete":
        return text[:i] + text[j:]
    if kind == "insert":
        return text[:i] + _fragment(draw) + text[i:]
    if kind == "replace":
        return text[:i] + _fragment(draw) + text[max(j, i + 1):]
    return text[:j] + text[i:j] + text[j:]  # duplicate


SEED_TEXTS = [  # what the spec files do not show: every layer kind, words, strings, tuples, nested repeats
    "INPUT(3, 16, 16) -> RESIZE(scale=1.5, mode=bilinear, align=true) -> LRN(3, alpha=0.001)"
    " -> CONV(4, k=(3, 1), p=same, d=2) -> AVGPOOL(2, ceil=true) -> ADAPTIVEMAXPOOL((2, 3)) -> FLATTEN -> FC(10)",
    "INPUT(2, 9) -> UPSAMPLE(size=12, mode='nearest-exact') -> MAXPOOL(3, s=2, p=1, d=2, ceil=true)"
    " -> LEAKYRELU(0.2) -> GMP -> DROPOUT(0.25) -> SOFTMAX -> DENSE(3, bias=false, in=2)",
    "let W = 4\ndefault CONV(W, k=3, p=1)\nINPUT(1, 4, 6, 6) → [CONV → BN → GELU] × 2 → "
    "INTERPOLATE(scale=(1, 0.5, 0.5), mode=trilinear) → GAP → FLATTEN → LINEAR(W * 2 // 3)",
    "INPUT(8) -> [[FC(8) -> TANH] * 2 -> IDENTITY] * 0 -> SIGMOID -> FC(out=2, in=8)",
    "let c = choice(4, 8)\nblock b(n, s=1) { ADD { CONV(n, k=3, s=s, p=1) | [CONV(n, k=1, s=s)] * (s > 1) } }\n"
    "INPUT(4, 16, 16) -> b(c) -> b(c, s=2) -> CONCAT { SPLIT(2, i=0) | SPLIT(2, i=1) } -> CHANNELSHUFFLE(2)"
    " -> MUL { [] | GAP -> CONV(c, k=1) -> SIGMOID } -> STOCHASTICDEPTH(0.1) -> GAP -> FLATTEN -> FC(10)",
]
TEXTS = [path.read_text(encoding="utf-8") for path in SPEC_FILES] + SEED_TEXTS


@st.composite
def mutated_specs(draw) -> str:
    text = mutate(draw, draw(st.sampled_from(TEXTS)))
    while rarely(draw, 3):
        text = mutate(draw, text)
    return text


# ------------------------------------------------------------------------------ 3. extremes

EXTREME_PIECES = [("[", "RELU", "]"), ("(", "1", ")"), ("", "1", " + 1"), ("- ", "1", ""), ("not ", "true", ""),
                  ("", "INPUT(1, 4, 4)", " -> RELU"), ("ADD { RELU", "", " | RELU"), ("", "1", " if false else 2"),
                  ("", "INPUT(3, 4, 4)", " -> MAXPOOL(1, s=2)"), ("MUL {", "[]", "}")]


@st.composite
def extremes(draw) -> str:
    before, middle, after = draw(st.sampled_from(EXTREME_PIECES))
    count = draw(st.sampled_from([60, 300]))  # the longest and deepest are test_limits.py's
    core = before * count + middle + after * count if before else middle + after * count
    return draw(st.sampled_from(["INPUT(1, 4, 4) -> {}", "let x = {}\nINPUT(1, 4, 4) -> CONV(4, k=1)", "{}"])) \
        .replace("{}", core)


# ------------------------------------------------------------------------------ the test

ERROR_HEAD = re.compile(r"(?P<path>[^\n]*?):(\d+):(\d+): error: |(?P<where>[^\n:]+): error: ")
FORMATS = ("table", "json", "csv", "markdown")


def check_library(path: Path) -> None:
    """Load, resolve and analyze: either it works, or a CnnspecError says where and why. (The CLI renders the
    report after this, in one of the formats; the rich table, which it draws only on a terminal, is drawn here.)"""
    try:
        report = cnnspec.analyze(cnnspec.load(path))
    except cnnspec.CnnspecError as error:
        assert error.diagnostics, "a CnnspecError without diagnostics"
        for diagnostic in error.diagnostics:
            if diagnostic.span is not None:
                assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1, diagnostic
        assert ERROR_HEAD.match(str(error)), f"message does not start with PATH[:LINE:COLUMN]: error: {error}"
        return
    render.table(report)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A copy of specs/, so that a mutated spec finds the files it imports beside it."""
    directory = tmp_path_factory.mktemp("fuzz") / "specs"
    shutil.copytree(SPECS_DIR, directory)
    return directory


def fuzz(inputs):
    """The test of one source of inputs, with its share of the profile's FUZZ_INPUTS."""
    return settings(max_examples=-(-FUZZ_INPUTS // 3), report_multiple_bugs=False, suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,  # a directory and captured output, emptied by every example
    ])(given(text=inputs, fmt=st.sampled_from(FORMATS))(check))


def check(text: str, fmt: str, workdir, capsys) -> None:
    path = workdir / "fuzz.cnn"
    with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
        handle.write(text)
    check_library(path)  # hypothesis prints the falsifying text itself
    capsys.readouterr()
    code = main(["analyze", str(path), "--format", fmt])
    out, err = capsys.readouterr()
    assert code in (0, 1), code
    assert "Traceback" not in out + err
    assert out if code == 0 else ": error: " in err


test_texts_from_the_grammar = fuzz(grammar_programs())
test_mutated_spec_files = fuzz(mutated_specs())
test_random_text_and_extremes = fuzz(st.integers(0, 19).flatmap(lambda n: extremes() if n == 0 else st.text()))


def test_the_grammar_generator_reaches_valid_networks():
    """The grammar's texts are not all refused at once: enough of them parse and analyze to test the rules.
    (Drawn with Python's own seeded generator, so that the count does not change with hypothesis's version; two
    thousand of them, of which between a sixth and a fifth analyze (over seeds), so that a new layer kind or
    grammar rule, which shifts what is drawn, leaves the counts above the bounds.)"""
    rng = random.Random(9)
    analyzed = []
    for _ in range(2000):
        try:
            analyzed.append(len(cnnspec.analyze(cnnspec.parse(program(rng))).layers))
        except cnnspec.CnnspecError:
            pass
    assert len(analyzed) >= 250 and sum(n >= 2 for n in analyzed) >= 12, analyzed
