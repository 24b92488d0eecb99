"""Syntax tree to IR: evaluate variables and expressions, apply `default` statements, bind arguments to the
op registry's parameters, and check their types. Every problem found is collected, so that a template
with several missing values reports all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ops, syntax
from .errors import CnnspecError, Diagnostic, Span, suggest
from .ir import Arg, Layer, Network, Repeat, Value, _expand

# Bounds on what a spec can ask for; beyond them the number is a typo, not a network.
REPEAT_LIMIT = 10_000
LAYER_LIMIT = 100_000


class Word(str):
    """A bare name that is no variable: a word such as `same` or `bilinear` (or an undefined variable)."""

    span: Span

    def __new__(cls, text: str, span: Span):
        word = super().__new__(cls, text)
        word.span = span
        return word


class _Missing:
    """The value of an expression that could not be evaluated; the reason is already reported."""

    def __repr__(self):
        return "<missing>"


MISSING = _Missing()


def resolve(program: syntax.Program, variables: Mapping[str, object] | None = None) -> Network:
    """Resolve a parsed program into a Network, with `variables` overriding or supplying `let` values."""
    return _Resolver(program, variables or {}).run()


def evaluate(expr: syntax.Expr) -> Value:
    """The value of a standalone expression (a `--set` value): numbers, tuples, words; no variables."""
    resolver = _Resolver(None, {})
    value = resolver.eval(expr, words=True)
    if resolver.errors:
        raise CnnspecError(diagnostics=resolver.errors)
    return value


class _Resolver:
    def __init__(self, program: syntax.Program | None, variables: Mapping[str, object]):
        self.program = program
        self.errors: list[Diagnostic] = []
        self.env: dict[str, Value] = {}
        self.overrides: dict[str, Value] = {}
        for name, value in variables.items():
            self.overrides[name] = value.value if isinstance(value, Arg) else value
        self.defaults: dict[str, dict[str, Arg]] = {}
        self.layer_count = 0
        self.used: set[str] = set()  # variables that some expression read

    # ------------------------------------------------------------------ driver

    def error(self, message: str, span: Span | None) -> None:
        key = (message, span.start if span else None)
        if key not in {(d.message, d.span.start if d.span else None) for d in self.errors}:
            self.errors.append(Diagnostic("error", message, span))

    def run(self) -> Network:
        self.env.update(self.overrides)
        for statement in self.program.statements:
            if isinstance(statement, syntax.Let):
                value = self.eval(statement.value)
                if statement.name in self.overrides:
                    self.used.add(statement.name)
                else:
                    self.env[statement.name] = value
            else:
                self.default_statement(statement)
        network = self.network(self.program.chain)
        for name in self.overrides:
            if name not in self.used:  # most likely a typo: say so rather than ignore it
                names = [n for n in self.used if n not in self.overrides] + \
                    [s.name for s in self.program.statements if isinstance(s, syntax.Let)]
                self.errors.append(Diagnostic("error", f"the spec has no variable `{name}` to set"
                                              f"{suggest(name, names)}", None, "--set"))
        if self.errors:
            raise CnnspecError(diagnostics=sorted(self.errors, key=lambda d: d.span.start if d.span else -1))
        return network

    def default_statement(self, statement: syntax.Default) -> None:
        found = self.lookup_op(statement.kind, statement.name_span)
        if found is None:
            return
        op, preset = found
        bound = self.bind(op, statement.kind, statement.args, statement.span)
        self.defaults.setdefault(op.name, {}).update(bound)

    def network(self, chain: syntax.Chain) -> Network:
        first, *rest = chain.items
        input_layer = None
        if isinstance(first, syntax.LayerCall) and first.name.lower() == "input":
            input_layer = self.layer(first)
        else:
            span = first.span if not isinstance(first, syntax.Repeat) else first.body.span
            self.error("the network must start with INPUT(...), the shape of one sample, e.g. INPUT(3, 32, 32)",
                       _head(span))
            rest = chain.items
        body = self.items(rest)
        return Network(input_layer, body, self.program.source)

    def items(self, items) -> tuple:
        nodes = []
        for item in items:
            if isinstance(item, syntax.LayerCall):
                if item.name.lower() == "input":
                    self.error("INPUT can only be the first layer of the network", item.name_span)
                    continue
                layer = self.layer(item)
                if layer is not None:
                    nodes.append(layer)
            elif isinstance(item, syntax.Group):
                nodes.extend(self.items(item.chain.items))
            else:
                nodes.extend(self.repeat(item))
        return tuple(nodes)

    def repeat(self, item: syntax.Repeat) -> tuple:
        count = self.eval(item.count)
        body_items = item.body.chain.items if isinstance(item.body, syntax.Group) else (item.body,)
        body = self.items(body_items)
        if count is MISSING:
            return body
        if isinstance(count, bool) or not isinstance(count, int):
            self.error(f"a repeat count must be a whole number, not {_show(count)}", item.count.span)
            return body
        if count < 0:
            self.error(f"a repeat count must be 0 or more, not {count}", item.count.span)
            return body
        if count > REPEAT_LIMIT:
            self.error(f"repeat count {count:,} is above the limit of {REPEAT_LIMIT:,}", item.count.span)
            return body
        if count == 0:
            return ()
        size = sum(1 for _ in _expand(body))
        self.layer_count += size * (count - 1)
        if self.layer_count > LAYER_LIMIT:
            self.error(f"the network expands to more than {LAYER_LIMIT:,} layers", item.span)
            return body
        return (Repeat(body, count, _squash(item.span.text), item.span),)

    # ------------------------------------------------------------------ layers

    def lookup_op(self, name: str, span: Span):
        found = ops.lookup(name)
        if found is None:
            self.error(f"unknown layer `{name}`{suggest(name, ops.layer_names())}", span)
        return found

    def layer(self, call: syntax.LayerCall) -> Layer | None:
        self.layer_count += 1
        found = self.lookup_op(call.name, call.name_span)
        if found is None:
            for arg in call.args:  # still report undefined variables inside its arguments
                self.eval(arg.value)
            return None
        op, preset = found
        args = dict(self.defaults.get(op.name, {}))
        args.update({name: Arg(value, call.name_span) for name, value in preset.items()})
        errors_before = len(self.errors)
        args.update(self.bind(op, call.name, call.args, call.span))
        missing = [p for p in op.params if p.required and p.name not in args]
        # A bad argument already has its message; "needs k" after "no argument kk" would say it twice.
        if missing and len(self.errors) == errors_before:
            needs = _join([f"`{p.name}` ({p.doc})" for p in missing])
            self.error(f"{call.name} needs {needs}: give {'it' if len(missing) == 1 else 'them'} here, "
                       f"e.g. {op.example}, or in a `default {call.name}(...)` statement before the network",
                       call.span)
        ordered = tuple((p.name, args[p.name]) for p in op.params if p.name in args)
        return Layer(op.name, ordered, _squash(call.span.text), call.span)

    def bind(self, op: ops.OpSpec, written: str, arg_nodes, call_span: Span) -> dict[str, Arg]:
        """Match written arguments to the op's parameters, evaluate and type-check them."""
        bound: dict[str, Arg] = {}
        positional = [a for a in arg_nodes if a.name is None]
        keyword_seen = False
        for node in arg_nodes:
            if node.name is None and keyword_seen:
                self.error("a positional argument cannot follow a keyword argument", node.span)
                return bound
            keyword_seen |= node.name is not None
        if op.variadic:
            if positional:
                values = [self.eval(a.value) for a in positional]
                param = op.param(op.variadic)
                span = positional[0].span.to(positional[-1].span)
                checked = param.check(tuple(values) if MISSING not in values else MISSING, span, written, self)
                if checked is not MISSING:
                    bound[param.name] = Arg(checked, span)
        elif len(positional) > len(op.positional):
            extra = positional[len(op.positional)]
            if op.positional:
                first = op.param(op.positional[0])
                self.error(f"{written} takes one positional argument ({first.name}, {first.doc}); give the others "
                           f"by name, e.g. {op.example}", extra.span)
            else:
                self.error(f"{written} takes no positional argument; give arguments by name, e.g. {op.example}",
                           extra.span)
            return bound
        names_given: dict[str, Span] = {}
        for index, node in enumerate(arg_nodes):
            if node.name is None:
                if op.variadic:
                    continue
                param = op.param(op.positional[index])
                name_span = node.span
            else:
                param = op.param_by_name(node.name)
                name_span = node.name_span
                if param is None:
                    self.error(f"{written} has no argument `{node.name}`{suggest(node.name, op.argument_names())}",
                               node.name_span)
                    self.eval(node.value)
                    continue
            if param.name in names_given:
                self.error(f"argument `{param.name}` of {written} is given twice", name_span)
                continue
            names_given[param.name] = name_span
            value = self.eval(node.value, words=True)
            if value is MISSING:
                continue
            checked = param.check(value, node.value.span, written, self)
            if checked is not MISSING:
                bound[param.name] = Arg(checked, node.span)
        return bound

    # ------------------------------------------------------------------ expressions

    def eval(self, expr: syntax.Expr, *, words: bool = False):
        """Evaluate an expression; bare names that are no variable become Words when `words` allows."""
        if isinstance(expr, syntax.Num):
            return expr.value
        if isinstance(expr, syntax.Str):
            return Word(expr.value, expr.span)
        if isinstance(expr, syntax.Name):
            if expr.name in self.env:
                self.used.add(expr.name)
                return self.env[expr.name]
            lowered = expr.name.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if words:
                return Word(expr.name, expr.span)
            self.undefined(expr.name, expr.span)
            return MISSING
        if isinstance(expr, syntax.TupleExpr):
            items = [self.eval(item, words=words) for item in expr.items]
            if MISSING in items:
                return MISSING
            for item, node in zip(items, expr.items):
                if isinstance(item, tuple):
                    self.error("tuples cannot be nested", node.span)
                    return MISSING
            return tuple(items)
        if isinstance(expr, syntax.Neg):
            value = self.number(expr.operand)
            return MISSING if value is MISSING else -value
        if isinstance(expr, syntax.BinOp):
            return self.binop(expr)
        raise AssertionError(f"unknown expression {expr!r}")

    def undefined(self, name: str, span: Span) -> None:
        known = list(self.env)
        hint = suggest(name, known)
        if not hint:
            hint = f"; define it with `let {name} = ...` or on the command line with `--set {name}=...`"
        self.error(f"undefined variable `{name}`{hint}", span)

    def number(self, expr: syntax.Expr):
        value = self.eval(expr)
        if value is MISSING:
            return MISSING
        if isinstance(value, Word):
            self.undefined(str(value), expr.span)
            return MISSING
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(f"expected a number here, not {_show(value)}", expr.span)
            return MISSING
        return value

    def binop(self, expr: syntax.BinOp):
        left, right = self.number(expr.left), self.number(expr.right)
        if left is MISSING or right is MISSING:
            return MISSING
        op = expr.op
        if op in ("/", "//", "%") and right == 0:
            self.error("division by zero", expr.right.span)
            return MISSING
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op in ("*", "×"):
            return left * right
        if op == "//":
            return left // right
        if op == "%":
            return left % right
        # `/` stays exact: integers must divide evenly, so a typo cannot turn a size into a fraction.
        if isinstance(left, int) and isinstance(right, int):
            if left % right:
                self.error(f"{left} / {right} does not divide exactly; write `//` to round down", expr.op_span)
                return MISSING
            return left // right
        return left / right


def _head(span: Span) -> Span:
    """The first line of a span, for carets that should not run over several lines."""
    if span.end_line == span.line:
        return span
    line = span.source.line_text(span.line)
    end_col = len(line) + 1
    return Span(span.source, span.start, span.start + end_col - span.column, span.line, span.column,
                span.line, end_col)


def _squash(text: str) -> str:
    """Source text on one line: comments dropped, runs of whitespace made single spaces."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return " ".join(" ".join(lines).split()).replace("( ", "(").replace(" )", ")").replace("[ ", "[").replace(" ]", "]")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Word):
        return f"the word `{value}`"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value) if isinstance(value, float) else str(value)
