"""Syntax tree to IR: evaluate variables and expressions, apply `default` statements, expand block calls
and imports, bind arguments to the op registry's parameters and check their types.

Every problem found is collected, so that a template with several missing values reports all of them.
Names are resolved in text order: a layer sees the `let`, `default` and `block` statements written before
it (a block body sees those before the block), and `--set` values override from the start.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .. import ops
from ..lang.errors import CnnspecError, Diagnostic, Source, Span, suggest
from ..lang.ir import Arg, Block, BlockCall, Group, Layer, Merge, Network, Ref, Repeat, expand
from ..lang.syntax import NESTING_LIMIT, SPEC_LIMIT, Program, span_of
from ..lang.values import MISSING, Value, Word
from ..lang.words import join_words, shown

# Bounds on what a spec can ask for; beyond them the number is a typo, not a network (the largest networks
# people use have a few thousand layers), and each is checked before the work it would cost is done.
REPEAT_LIMIT = 10_000
LAYER_LIMIT = 20_000
CALL_LIMIT = 20_000  # block calls made while expanding: blocks that call blocks twice, 40 deep, stop here
NUMBER_DIGITS = 18  # whole numbers, written or computed, stay below 10^18
ERROR_LIMIT = 20  # errors reported before resolving stops: a spec with 10,000 typos needs no 10,000 messages

# Functions of expressions: the callable and how many arguments (at least, at most; None: any number).
FUNCTIONS = {
    "min": (min, (2, None)), "max": (max, (2, None)), "round": (round, (1, 1)),
    "floor": (math.floor, (1, 1)), "ceil": (math.ceil, (1, 1)), "abs": (abs, (1, 1)),
}
# Draws for per-student variants: `choice(16, 32, 64)` is one of its values, `randint(3, 7)` a whole number
# from 3 to 7. With no variant (the instructor's own copy) each takes its first value, or its lowest.
DRAWS = {"choice": (2, None), "randint": (2, 2)}


class _Variables:
    """Every `let` of a program, in the order the statements run: each binding carries the statement's stamp,
    so that a block sees the variables written before it through a view, without a copy of them all."""

    def __init__(self, initial: Mapping[str, Value]):
        self.history: dict[str, list[tuple[float, Value]]] = {name: [(0, value)] for name, value in initial.items()}

    def bind(self, name: str, value: Value, stamp: int) -> None:
        self.history.setdefault(name, []).append((stamp, value))

    def view(self, stamp: float = math.inf) -> _View:
        return _View(self, stamp)


class _View(Mapping):
    """The variables as a statement with `stamp` sees them (math.inf: everything bound so far)."""

    def __init__(self, variables: _Variables, stamp: float):
        self.variables, self.stamp = variables, stamp

    def __getitem__(self, name: str) -> Value:
        for stamp, value in reversed(self.variables.history.get(name, ())):
            if stamp <= self.stamp:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (name for name, bindings in self.variables.history.items() if bindings[0][0] <= self.stamp)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class _BlockDef:
    """A `block NAME(params) { chain }` statement; its body sees what was written before it (and itself)."""

    name: str
    params: list  # [(name, default expression node or None, span)]
    body: object  # the lark chain node
    source: Source
    span: Span
    env: Mapping  # a view of the variables written before it
    defaults: dict
    stamp: int  # when it was defined: the blocks it may call are those defined up to it
    broken: bool = False  # its definition has an error already reported; its calls say nothing more

    def record(self, env: Mapping, values: dict, arguments: dict) -> BlockCall:
        """What a call of the block bound, given the names its body sees and the expressions written for its
        parameters (code generation reads it)."""
        params = tuple((name, span_of(default, self.source).text if default is not None else None)
                       for name, default, _ in self.params)
        header = f"block {self.name}(" + ", ".join(
            name if default is None else f"{name}={default}" for name, default in params) + ")"
        return BlockCall(self.name, params, MappingProxyType(values), MappingProxyType(env), header,
                         self.span.line, self.source.path, MappingProxyType(arguments))


@dataclass
class _Scope:
    """What a chain can see: variables, `default` arguments, blocks (those defined up to `stamp`), and where
    its text comes from."""

    source: Source
    env: Mapping
    defaults: dict
    stamp: float = math.inf
    calls: tuple = ()  # the block calls being expanded, outermost first
    kinds: Mapping = field(default_factory=dict)  # what the names that are no `let` variable are: parameters, indices


def resolve(program: Program, variables: Mapping[str, object] | None = None, /, *, variant: str | None = None,
            attempt: int = 0, given_as: str | None = None, **named) -> Network:
    """Resolve a parsed program into a Network, with `variables` (a mapping, or keyword arguments:
    `resolve(program, N=3)`) overriding or supplying `let` values.

    `variant` (a student's ID) decides what each `choice(...)` / `randint(...)` draws; `attempt` starts
    another series of draws for the same ID, for when the first one makes an invalid network. `given_as`
    names where the variables came from in the message about one the spec lacks (the CLI's `--set`).
    """
    return _Resolver({**(variables or {}), **named}, variant=variant, attempt=attempt, given_as=given_as).run(program)


def draw_index(variant: str, attempt: int, ordinal: int, count: int) -> int:
    """Which of `count` options the `ordinal`-th draw of a spec takes for this student: a hash of the three,
    so the same ID gets the same worksheet on every machine and Python version."""
    digest = hashlib.sha256(f"{variant}\x00{attempt}\x00{ordinal}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def evaluate(program: Program) -> Value:
    """The value of a standalone expression (a `--set` value): numbers, tuples, words; no variables."""
    resolver = _Resolver({})
    value = resolver.eval(program.tree, _Scope(program.source, {}, {}), words=True)
    resolver.raise_errors()
    return value


class _Resolver:
    def __init__(self, variables: Mapping[str, object], *, variant: str | None = None, attempt: int = 0,
                 given_as: str | None = None):
        self.errors: list[Diagnostic] = []
        self.reported: set[tuple] = set()  # (message, path, offset) of the errors reported
        self.variant, self.attempt, self.given_as = variant, attempt, given_as
        self.draws = 0  # draws made so far, in evaluation order: the next one's ordinal
        self.drawn: list[Value] = []
        self.overrides: dict[str, Value] = {name: (v.value if isinstance(v, Arg) else v)
                                            for name, v in variables.items()}
        self.variables = _Variables(self.overrides)
        self.stamp = 0  # statements run so far
        self.blocks: dict[str, _BlockDef] = {}  # every block defined so far, by its lower-case name
        self.used: set[str] = set()  # variables that some expression read
        self.layer_count = 0
        self.call_count = 0
        self.depth = 0  # groups, repeats, branches and block calls being resolved, one inside the other
        self.all_blocks: dict[str, Span] = {}  # every block of the program, for "used before it is defined"
        self.indices: dict[str, Span] = {}  # every repeat index of the program, by name: where it is named
        self.imports: list[str] = []  # files being imported, to refuse cycles
        self.imported: set[str] = set()  # files already imported
        self.root = ""  # the directory imports must stay in: the top-level spec's
        self.text_left = SPEC_LIMIT  # what the files still to import may hold (of SPEC_LIMIT, with the spec)
        self.scope: _Scope | None = None  # the scope of the arguments being checked, for suggestions
        self.attempted: set[str] = set()
        self.unknown_argument = False
        self.bad_arguments = False

    # ------------------------------------------------------------------ driver

    def error(self, message: str, span: Span | None) -> None:
        """Report a problem once (a block body resolved for every call would repeat it); stop at ERROR_LIMIT."""
        key = (message, span.source.path if span else None, span.start if span else None)
        if key in self.reported:
            return
        if len(self.reported) == ERROR_LIMIT:
            self.errors.append(Diagnostic("note", f"stopped after {ERROR_LIMIT} errors; correct these and run "
                                                  "again"))
            raise CnnspecError(diagnostics=_in_order(self.errors))
        self.reported.add(key)
        self.errors.append(Diagnostic("error", message, span))

    def raise_errors(self) -> None:
        if self.errors:
            raise CnnspecError(diagnostics=_in_order(self.errors))

    def visible_block(self, name: str, scope: _Scope) -> _BlockDef | None:
        definition = self.blocks.get(name.lower())
        return definition if definition is not None and definition.stamp <= scope.stamp else None

    def run(self, program: Program) -> Network:
        scope = _Scope(program.source, self.variables.view(), {})
        path = program.source.path
        self.root = os.path.dirname(path) if not path.startswith("<") else ""
        self.text_left -= len(program.source.text)
        self.imports.append(os.path.normpath(path))
        *statements, last = program.tree.children if program.tree.children else (None,)
        if last is not None and last.data != "chain":
            statements.append(last)
            last = None
        self.collect_block_names(statements, program.source)
        self.collect_indices(program.tree, program.source)
        for statement in statements:
            self.statement(statement, scope)
        if last is None:
            self.error("the spec has no network: after its statements, write one starting with INPUT(...), "
                       "e.g. INPUT(3, 32, 32) -> CONV(16, k=3) -> GAP -> FLATTEN -> FC(10)",
                       _end(program.source))
            self.raise_errors()
        network = self.network(last, scope)
        for name in self.overrides:
            if name not in self.used:  # most likely a typo: say so rather than ignore it
                known = sorted(set(self.used) - set(self.overrides) | {n for n in scope.env if n not in self.overrides})
                self.errors.append(Diagnostic("error", f"the spec has no variable `{name}` to set"
                                              f"{suggest(name, known)}", None, self.given_as))
        self.raise_errors()
        return network

    def collect_block_names(self, statements, source: Source) -> None:
        for statement in statements:
            if statement.data == "block_def":
                name = statement.children[0]
                self.all_blocks.setdefault(str(name).lower(), span_of(name, source))

    def statement(self, node, scope: _Scope) -> None:
        kind = node.data
        if kind == "let_stmt":
            name, value = node.children
            result = self.eval(value, scope)
            self.stamp += 1
            if str(name) in self.overrides:
                self.used.add(str(name))
            else:
                self.variables.bind(str(name), result, self.stamp)
        elif kind == "default_stmt":
            name, *rest = node.children
            found = ops.lookup(str(name))
            if found is None and self.visible_block(str(name), scope) is not None:
                self.error(f"`default` gives arguments to a layer kind, and `{name}` is a block: give its "
                           "parameters defaults in its definition, `block NAME(p=VALUE)`", span_of(name, scope.source))
            elif found is None:
                self.error(f"unknown layer `{name}`{suggest(str(name), ops.layer_names())}",
                           span_of(name, scope.source))
            else:
                op, _ = found
                args = rest[0] if rest and rest[0] is not None else None
                bound = self.bind(op, str(name), self.arg_nodes(args, scope), scope)
                scope.defaults = {**scope.defaults, op.name: {**scope.defaults.get(op.name, {}), **bound}}
        elif kind == "block_def":
            self.block_def(node, scope)
        elif kind == "import_stmt":
            self.import_file(node, scope)
        else:
            raise AssertionError(f"unknown statement {kind}")

    def block_def(self, node, scope: _Scope) -> None:
        name, *params, body = node.children
        span = span_of(name, scope.source)
        lowered = str(name).lower()
        if ops.lookup(lowered) is not None:
            self.error(f"a block cannot be named `{name}`: that is the name of a layer kind", span)
            return
        if lowered in self.blocks:
            first = self.blocks[lowered].span
            where = f"line {first.line}" if first.source is span.source else f"{first.source.path}:{first.line}"
            self.error(f"block `{name}` is already defined (at {where})", span)
            return
        declared = []
        seen = set()
        broken = False
        for param in params:
            if param is None:
                continue
            pname, *default = param.children
            pspan = span_of(pname, scope.source)
            if str(pname) in seen:
                self.error(f"parameter `{pname}` of block `{name}` is declared twice", pspan)
                broken = True
                continue
            seen.add(str(pname))
            declared.append((str(pname), default[0] if default else None, pspan))
        self.stamp += 1  # the block sees itself, so that a call of itself is named recursion
        self.blocks[lowered] = _BlockDef(str(name), declared, body, scope.source, span_of(node, scope.source),
                                         self.variables.view(self.stamp), scope.defaults, self.stamp, broken=broken)

    def import_file(self, node, scope: _Scope) -> None:
        from ..lang.sources import read_source
        from ..lang.syntax import parse

        token = node.children[0]
        span = span_of(token, scope.source)
        written = str(token)[1:-1]
        base = os.path.dirname(scope.source.path) if not scope.source.path.startswith("<") else ""
        path = os.path.normpath(os.path.join(base, written))
        refusal = self.import_refusal(written, path)
        if refusal:
            self.error(f"cannot import \"{written}\": {refusal}", span)
            return
        if path in self.imports:
            cycle = " → ".join([*self.imports[self.imports.index(path):], path])
            self.error(f"import cycle: {cycle}", span)
            return
        if path in self.imported:  # a file imported twice (two libraries sharing a third) runs once
            return
        self.imported.add(path)
        try:
            text = read_source(path, limit=max(self.text_left, 0), imported=True)
            self.text_left -= len(text)
            program = parse(text, path)
        except CnnspecError as error:
            first = error.diagnostics[0]
            if first.span is None:  # the file itself could not be read: say so at the import
                self.error(f"cannot import \"{written}\" ({path}): {first.message}", span)
            else:
                self.errors.extend(error.diagnostics)
            return
        children = program.tree.children
        if children and children[-1].data == "chain":
            chain = children[-1]
            self.error(f"{path} is imported, so it can only define blocks, variables and defaults; "
                       "its network chain is not allowed here", first_line(span_of(chain, program.source)))
            children = children[:-1]
        self.imports.append(path)
        inner = _Scope(program.source, scope.env, scope.defaults)
        self.collect_block_names(children, program.source)
        self.collect_indices(program.tree, program.source)
        for statement in children:
            self.statement(statement, inner)
        self.imports.pop()
        scope.defaults = inner.defaults

    def import_refusal(self, written: str, path: str) -> str:
        """Why an import is not allowed, or "": a spec imports .cnn files in its own directory tree only, so that
        a spec from elsewhere cannot make cnnspec read (and quote) any file of the machine."""
        if os.path.isabs(written) or written.startswith("~"):
            return "an import names a .cnn file by its path relative to the importing file, not an absolute path"
        if not written.endswith(".cnn"):
            return "only .cnn files can be imported"
        root = os.path.realpath(self.root or os.curdir)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            where = f"the directory of {self.imports[0]}" if self.root else "the current directory"
            return f"it is outside {where}, and a spec imports only files within its own directory"
        return ""

    # ------------------------------------------------------------------ chains

    def network(self, chain, scope: _Scope) -> Network:
        items = chain.children[::2]  # items and arrows alternate
        first = items[0]
        input_layer = None
        label, unit = _label_and_unit(first)
        if unit.data == "layer" and str(unit.children[0]).lower() == "input" and label is None:
            input_layer = self.layer(unit, None, scope)
            self.layer_count = 0  # INPUT is no layer of the network
            items = items[1:]
        else:
            self.error("the network must start with INPUT(...), the shape of one sample, e.g. INPUT(3, 32, 32)",
                       first_line(span_of(first, scope.source)))
        body = self.items(items, scope)
        return Network(input_layer, body, scope.source, tuple(self.drawn))

    def chain(self, chain, scope: _Scope) -> tuple:
        return self.items(chain.children[::2], scope) if chain is not None else ()

    def items(self, items, scope: _Scope) -> tuple:
        nodes = []
        for item in items:
            label, unit = _label_and_unit(item)
            if label is not None and (not label or "." in label):
                self.error(f"the label {item.children[0].children[0]} cannot name a module: a quoted label must be "
                           f"non-empty and hold no `.` (which separates the names of a path)",
                           span_of(item.children[0].children[0], scope.source))
                label = None
            nodes.extend(self.unit(unit, label, scope))
        return tuple(nodes)

    def unit(self, unit, label: str | None, scope: _Scope) -> tuple:
        kind = unit.data
        span = span_of(unit, scope.source)
        if kind == "layer":
            name = str(unit.children[0])
            if name.lower() == "input":
                self.error("INPUT can only be the first layer of the network", span_of(unit.children[0], scope.source))
                return ()
            definition = self.visible_block(name, scope)
            if definition is not None:
                node = self.nested(span, self.call, definition, unit, label, scope)
            else:
                node = self.layer(unit, label, scope)
            return (node,) if node is not None else ()
        if kind == "group":
            body = self.nested(span, self.chain, unit.children[0] if unit.children else None, scope)
            return (Group(body, label, _squash(span.text), span),) if label else body
        if kind == "merge":
            node = self.nested(span, self.merge, unit, label, scope)
            return (node,) if node is not None else ()
        if kind == "repeat":
            return self.nested(span, self.repeat, unit, label, scope)
        if kind == "ref":
            if label is not None:
                self.error(f"`{_squash(span.text)}` goes on from the output labelled `{unit.children[0]}`, so it is "
                           f"no layer a label can name; label the item it names", span)
                return ()
            return (Ref(str(unit.children[0]), _squash(span.text), span),)
        raise AssertionError(f"unknown item {kind}")

    def nested(self, span: Span, resolve_part, *args):
        """Resolve a group, repeat, merge or block call one level deeper, refusing to go beyond NESTING_LIMIT
        levels (brackets are checked before parsing; blocks that call blocks nest deeper without any)."""
        if self.depth >= NESTING_LIMIT:
            self.error(f"blocks, brackets and the blocks they call nest more than {NESTING_LIMIT} levels deep here; "
                       f"a network nests at most {NESTING_LIMIT}", first_line(span))
            self.raise_errors()
        self.depth += 1
        try:
            return resolve_part(*args)
        finally:
            self.depth -= 1

    def repeat(self, unit, label: str | None, scope: _Scope) -> tuple:
        body_node, _star, count_node, *index_token = unit.children
        span = span_of(unit, scope.source)
        count = self.eval(count_node, scope)
        if body_node.data == "ref":
            self.error(f"`{_squash(span_of(body_node, scope.source).text)}` goes on from an earlier output; it is no "
                       f"layer and cannot be repeated", span)
            return ()
        index = str(index_token[0]) if index_token else None
        if index is not None:
            return self.indexed_repeat(unit, body_node, count, count_node, index, index_token[0], label, scope)
        body = self.unit(body_node, None, scope)
        count = self.repeat_count(count, count_node, scope)
        if count is MISSING:
            return body
        layers = sum(1 for _ in expand(body))
        if count == 0 or layers == 0:  # a repeat of nothing leaves nothing (and costs no walk of its passes)
            return ()
        self.count_layers(layers * (count - 1), span)
        count_text = _squash(span_of(count_node, scope.source).text)
        return (Repeat(body, count, label, _squash(span.text), span, count_text),)

    def repeat_count(self, count, count_node, scope: _Scope):
        """The count of a repeat as a whole number from 0 to REPEAT_LIMIT, or MISSING (and a message)."""
        count_span = span_of(count_node, scope.source)
        if count is MISSING:
            return MISSING
        if isinstance(count, bool):
            count = int(count)
        if not isinstance(count, int):
            self.error(f"a repeat count must be a whole number, not {shown(count)}", count_span)
            return MISSING
        if count < 0:
            self.error(f"a repeat count must be 0 or more, not {count}", count_span)
            return MISSING
        if count > REPEAT_LIMIT:
            self.error(f"repeat count {count:,} is above the limit of {REPEAT_LIMIT:,}", count_span)
            return MISSING
        return count

    def indexed_repeat(self, unit, body_node, count, count_node, index: str, index_token, label, scope: _Scope):
        """`[…] * N by i`: the body resolved once per copy, with `i` its number from 0, a variable of the
        expressions written inside the repeat (not of the blocks it calls: they see what their definition sees)."""
        span = span_of(unit, scope.source)
        index_span = span_of(index_token, scope.source)
        taken = self.taken_name(index, scope)
        if taken:
            free = next(n for n in ("i", "j", "k", "n", "m", "index") if not self.taken_name(n, scope))
            self.error(f"the repeat index `{index}` has the name of {taken}: give the index another name, "
                       f"e.g. `by {free}`", index_span)
            return ()
        count = self.repeat_count(count, count_node, scope)
        copies = []
        kinds = {**scope.kinds, index: f"the index of the repeat around it (line {index_span.line})"}
        for number in range(1 if count is MISSING else count):
            inner = _Scope(scope.source, ChainMap({index: number}, scope.env), scope.defaults, scope.stamp,
                           scope.calls, kinds)
            copies.append(self.unit(body_node, None, inner))
        if count is MISSING:
            return copies[0]
        if not any(any(expand(copy)) for copy in copies):  # a repeat of nothing leaves nothing
            return ()
        count_text = _squash(span_of(count_node, scope.source).text)
        return (Repeat(copies[0], count, label, _squash(span.text), span, count_text, index, tuple(copies)),)

    def taken_name(self, name: str, scope: _Scope) -> str:
        """What `name` already is in `scope` (a block parameter, a repeat index, a variable), or ""."""
        if name in scope.kinds:
            return scope.kinds[name]
        if name in scope.env:
            return "a variable (`let` or `--set`)"
        return ""

    def collect_indices(self, tree, source: Source) -> None:
        """Where each repeat index is named (`by i`), for the message about one used outside its repeat."""
        for node in tree.find_data("repeat"):
            if len(node.children) == 4:
                self.indices.setdefault(str(node.children[3]), span_of(node.children[3], source))

    def count_layers(self, added: int, span: Span) -> None:
        """Stop at LAYER_LIMIT layers, before a typo makes a network too large to analyze in a moment."""
        self.layer_count += added
        if self.layer_count > LAYER_LIMIT:
            self.error(f"the network expands to more than {LAYER_LIMIT:,} layers", first_line(span))
            self.raise_errors()

    # ------------------------------------------------------------------ layers, merges, calls

    def lookup_op(self, name: str, span: Span, scope: _Scope):
        found = ops.lookup(name)
        if found is None:
            self.unknown_name(name, span, scope)
        return found

    def unknown_name(self, name: str, span: Span, scope: _Scope) -> None:
        later = self.all_blocks.get(name.lower())
        if later is not None and self.visible_block(name, scope) is None:
            where = f"{later.source.path}:{later.line}:{later.column}" if later.source is not span.source \
                else f"line {later.line}"
            self.error(f"block `{name}` is used before it is defined (at {where}); define blocks before "
                       "the layers and blocks that use them", span)
            return
        known = ops.layer_names() + [d.name for d in self.blocks.values() if d.stamp <= scope.stamp]
        self.error(f"unknown layer or block `{name}`{suggest(name, known)}", span)

    def layer(self, unit, label: str | None, scope: _Scope) -> Layer | None:
        name_token, *rest = unit.children
        name = str(name_token)
        call_args = rest[0] if rest and rest[0] is not None else None
        span = span_of(unit, scope.source)
        self.count_layers(1, span)
        found = self.lookup_op(name, span_of(name_token, scope.source), scope)
        if found is None:
            for node in self.arg_nodes(call_args, scope):  # still report undefined variables in its arguments
                self.eval(node[1], scope)
            return None
        op, preset = found
        if op.merge:
            self.error(f"{name} joins branches: write it as {name} {{ branch | branch }}", span)
            return None
        args = dict(scope.defaults.get(op.name, {}))
        args.update({key: Arg(value, span_of(name_token, scope.source)) for key, value in preset.items()})
        self.bad_arguments = False
        given, shares, shares_span = self.shares(self.arg_nodes(call_args, scope), scope)
        if shares is not None and op.name == "input":
            self.error(f"{name} has no weights to share", shares_span)
            shares = None
        args.update(self.bind(op, name, given, scope))
        # A bad argument already has its message; "needs k" after "no argument kk" would say it twice.
        missing = [p for p in op.params if p.required and p.name not in args and p.name not in self.attempted]
        if missing and not self.unknown_argument and not self.bad_arguments:
            needs = join_words([f"`{p.name}` ({p.doc})" for p in missing])
            self.error(f"{name} needs {needs}: give {'it' if len(missing) == 1 else 'them'} here, "
                       f"e.g. {op.example}, or in a `default {name}(...)` statement before the network", span)
        ordered = tuple((p.name, args[p.name]) for p in op.params if p.name in args)
        return Layer(op.name, ordered, label, _squash(span.text), span, shares, shares_span)

    def shares(self, given: list, scope: _Scope) -> tuple[list, str | None, Span | None]:
        """`shares=conv1`, which any layer takes: the label it names, taken out of the arguments."""
        found = [(node, key_span) for key, node, key_span in given if key == "shares"]
        if not found:
            return given, None, None
        node, key_span = found[0]
        if len(found) > 1:
            self.error("argument `shares` is given twice", found[1][1])
        rest = [g for g in given if g[0] != "shares"]
        if getattr(node, "data", None) != "name":
            self.error("`shares=` takes the label of an earlier layer of this scope, e.g. `shares=conv1`",
                       span_of(node, scope.source))
            return rest, None, None
        return rest, str(node.children[0]), span_of(node, scope.source)

    def merge(self, unit, label: str | None, scope: _Scope) -> Merge | None:
        name_token, *branch_nodes = unit.children
        name = str(name_token)
        span = span_of(unit, scope.source)
        found = self.lookup_op(name, span_of(name_token, scope.source), scope)
        branches = tuple(self.chain(branch, scope) for branch in branch_nodes)
        if found is None:
            return None
        op, _ = found
        if not op.merge:
            merges = join_words([f"`{o.name.upper()}`" for o in ops.OPS if o.merge], "or")
            self.error(f"{name} is a layer, not a merge: branches in braces join with {merges}",
                       span_of(name_token, scope.source))
            return None
        self.count_layers(1, span)
        head = f"{name} {{…}}"
        return Merge(op.name, (), branches, label, head, span,
                     tuple(span_of(b, scope.source) for b in branch_nodes))

    def call(self, definition: _BlockDef, unit, label: str | None, scope: _Scope) -> Block | None:
        name_token, *rest = unit.children
        span = span_of(unit, scope.source)
        if definition.broken:
            return None
        self.call_count += 1
        if self.call_count > CALL_LIMIT:  # blocks calling blocks twice, 40 deep, would make 2^40 calls
            self.error(f"the network makes more than {CALL_LIMIT:,} block calls", first_line(span))
            self.raise_errors()
        if definition.name in scope.calls:
            chain = " → ".join([*scope.calls[scope.calls.index(definition.name):], definition.name])
            self.error(f"block `{definition.name}` calls itself ({chain}); blocks cannot be recursive", span)
            return None
        call_args = rest[0] if rest and rest[0] is not None else None
        given = self.arg_nodes(call_args, scope)
        values: dict[str, Value] = {}  # the parameters, seen before the variables written before the block
        env = ChainMap(values, definition.env)
        bound: dict[str, Value] = {}
        written: dict[str, str] = {}  # the expression given for each parameter, as written
        names = [p[0] for p in definition.params]
        positional = [node for key, node, _ in given if key is None]
        if len(positional) > len(names):
            self.error(f"block `{definition.name}` takes {len(names)} argument{'s' if len(names) != 1 else ''} "
                       f"({', '.join(names) or 'none'}) but is given {len(positional)}",
                       span_of(positional[len(names)], scope.source))
            return None
        ok = True
        for index, (key, node, key_span) in enumerate(given):
            pname = names[index] if key is None else key
            if pname not in names:
                self.error(f"block `{definition.name}` has no parameter `{key}`{suggest(key, names)}", key_span)
                ok = False
                continue
            if pname in bound:
                self.error(f"argument `{pname}` of block `{definition.name}` is given twice", key_span)
                ok = False
                continue
            value = self.eval(node, scope, words=True)
            if value is MISSING:
                ok = False
            bound[pname] = value
            written[pname] = _squash(span_of(node, scope.source).text)
        inner = _Scope(definition.source, env, definition.defaults, definition.stamp, (*scope.calls, definition.name),
                       {name: f"a parameter of block `{definition.name}`" for name in names})
        for pname, default, pspan in definition.params:
            if pname in bound:
                values[pname] = bound[pname]
            elif default is not None:
                values[pname] = self.eval(default, inner, words=True)
            else:
                self.error(f"block `{definition.name}` needs its parameter `{pname}`", span)
                ok = False
        if not ok:
            return None
        errors_before = len(self.errors)
        body = self.chain(definition.body, inner)
        if len(self.errors) > errors_before:  # say which call the body's errors come from
            self.errors.append(Diagnostic("note", f"in the call {_squash(span.text)}", first_line(span)))
        return Block(definition.name, body, label, _squash(span.text), span, definition.record(env, values, written))

    def arg_nodes(self, call_args, scope: _Scope) -> list:
        """[(keyword or None, value node, span of the keyword or the value)] of a `call_args` node."""
        result = []
        if call_args is None:
            return result
        keyword_seen = False
        for child in call_args.children:
            if child is None:
                continue
            if child.data == "keyword_arg":
                key, value = child.children
                result.append((str(key), value, span_of(key, scope.source)))
                keyword_seen = True
            else:
                value = child.children[0]
                if keyword_seen:
                    self.error("a positional argument cannot follow a keyword argument", span_of(child, scope.source))
                    self.bad_arguments = True
                    return []
                result.append((None, value, span_of(child, scope.source)))
        return result

    def bind(self, op: ops.OpSpec, written: str, given: list, scope: _Scope) -> dict[str, Arg]:
        """Match written arguments to the op's parameters, evaluate and type-check them."""
        self.scope = scope
        self.attempted: set[str] = set()  # parameters given, even if their value was wrong
        self.unknown_argument = False
        bound: dict[str, Arg] = {}
        positional = [(node, span) for key, node, span in given if key is None]
        if op.variadic:
            if positional:
                values = [self.eval(node, scope) for node, _ in positional]
                param = op.param(op.variadic)
                self.attempted.add(param.name)
                span = positional[0][1].to(positional[-1][1])
                if MISSING not in values:
                    checked = param.check(tuple(values), span, written, self)
                    if checked is not MISSING:
                        bound[param.name] = Arg(checked, span)
        elif len(positional) > len(op.positional):
            extra_span = positional[len(op.positional)][1]
            self.unknown_argument = True
            if op.positional:
                first = op.param(op.positional[0])
                self.error(f"{written} takes one positional argument ({first.name}, {first.doc}); give the others "
                           f"by name, e.g. {op.example}", extra_span)
            else:
                self.error(f"{written} takes no positional argument; give arguments by name, e.g. {op.example}",
                           extra_span)
            return bound
        names_given: set[str] = set()
        for index, (key, node, key_span) in enumerate(given):
            if key is None:
                if op.variadic:
                    continue
                param = op.param(op.positional[index])
            else:
                param = op.param_by_name(key)
                if param is None:
                    self.unknown_argument = True
                    self.error(f"{written} has no argument `{key}`{suggest(key, op.argument_names())}", key_span)
                    self.eval(node, scope)
                    continue
            if param.name in names_given:
                self.error(f"argument `{param.name}` of {written} is given twice", key_span)
                continue
            names_given.add(param.name)
            self.attempted.add(param.name)
            value = self.eval(node, scope, words=True)
            if value is MISSING:
                continue
            value_span = span_of(node, scope.source)
            checked = param.check(value, value_span, written, self)
            if checked is not MISSING:
                whole = key_span.to(value_span) if key is not None else value_span
                bound[param.name] = Arg(checked, whole)
        return bound

    # ------------------------------------------------------------------ expressions

    def eval(self, node, scope: _Scope, *, words: bool = False):
        """Evaluate an expression; bare names that are no variable become Words when `words` allows."""
        kind = node.data
        if kind == "int":
            digits = str(node.children[0]).replace("_", "")
            if len(digits) > NUMBER_DIGITS:
                self.error(f"a number of {len(digits):,} digits is too long: numbers in a spec have at most "
                           f"{NUMBER_DIGITS} digits", span_of(node, scope.source))
                return MISSING
            return int(digits)
        if kind == "float":
            return float(node.children[0])
        if kind == "string":
            return Word(str(node.children[0])[1:-1], span_of(node, scope.source))
        if kind == "name":
            name = str(node.children[0])
            if name in scope.env:
                self.used.add(name)
                return scope.env[name]
            lowered = name.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if words:
                return Word(name, span_of(node, scope.source))
            self.undefined(name, span_of(node, scope.source), scope)
            return MISSING
        if kind == "tuple":
            items = [self.eval(item, scope, words=words) for item in node.children if item is not None]
            if MISSING in items:
                return MISSING
            for item, child in zip(items, [c for c in node.children if c is not None]):
                if isinstance(item, tuple):
                    self.error("tuples cannot be nested", span_of(child, scope.source))
                    return MISSING
            return tuple(items)
        if kind in ("neg", "pos"):  # `- - - x`: walked, not recursed, however many signs
            negative = False
            while node.data in ("neg", "pos"):
                negative ^= node.data == "neg"
                node = node.children[1]
            value = self.number(node, scope)
            return -value if negative and value is not MISSING else value
        if kind == "binop":
            return self.binop(node, scope)
        if kind == "compare":
            left, op, right = node.children
            a, b = self.number(left, scope), self.number(right, scope)
            if MISSING in (a, b):
                return MISSING
            return {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[str(op)]
        if kind in ("and_", "or_"):  # `a and b or c …`, a left-deep chain: walked, not recursed
            spine = _left_spine(node, ("and_", "or_"))
            value = self.truth(spine[-1].children[0], scope)
            for link in reversed(spine):
                right = self.truth(link.children[1], scope)
                if MISSING in (value, right):
                    value = MISSING
                else:
                    value = (value and right) if link.data == "and_" else (value or right)
            return value
        if kind == "not_":
            negate = False
            while node.data == "not_":
                negate, node = not negate, node.children[0]
            value = self.truth(node, scope)
            return value if value is MISSING or not negate else not value
        if kind == "function":
            return self.function(node, scope)
        if kind == "ifelse":  # `a if c else b if d else …`: walked, not recursed
            while node.data == "ifelse":
                then, condition, otherwise = node.children
                test = self.truth(condition, scope)
                if test is MISSING:
                    return MISSING
                if test:
                    return self.eval(then, scope, words=words)
                node = otherwise
            return self.eval(node, scope, words=words)
        raise AssertionError(f"unknown expression {kind}")

    def function(self, node, scope: _Scope):
        """min, max, round, floor, ceil, abs: what sizing rules in papers and torchvision use."""
        name_token, *arg_nodes = node.children
        name = str(name_token).lower()
        arg_nodes = [a for a in arg_nodes if a is not None]
        span = span_of(name_token, scope.source)
        if name not in FUNCTIONS and name not in DRAWS:
            known = [*FUNCTIONS, *DRAWS]
            hint = suggest(name, known) or f"; the functions are {join_words([f'`{f}`' for f in known])}"
            self.error(f"unknown function `{name_token}`{hint}", span)
            return MISSING
        minimum, maximum = FUNCTIONS[name][1] if name in FUNCTIONS else DRAWS[name]
        if not minimum <= len(arg_nodes) <= (maximum or len(arg_nodes)):
            wanted = f"{minimum}" if minimum == maximum else f"at least {minimum}"
            self.error(f"`{name}` takes {wanted} argument{'s' if (maximum or 2) > 1 else ''}, not {len(arg_nodes)}",
                       span_of(node, scope.source))
            return MISSING
        if name in DRAWS:
            return self.draw(name, node, arg_nodes, scope)
        values = [self.number(a, scope) for a in arg_nodes]
        if MISSING in values:
            return MISSING
        if name in ("round", "floor", "ceil") and not math.isfinite(values[0]):
            self.error(f"`{name}` needs a finite number, not {values[0]}", span_of(node, scope.source))
            return MISSING
        return self.bounded(FUNCTIONS[name][0](*values), node, scope)

    def draw(self, name: str, node, arg_nodes, scope: _Scope):
        """One value drawn for this student (see DRAWS); every draw counts, so later ones keep their place."""
        ordinal, self.draws = self.draws, self.draws + 1
        if name == "choice":
            options = [self.eval(a, scope, words=True) for a in arg_nodes]
            if MISSING in options:
                return MISSING
        else:
            low, high = (self.typed(a, scope, lambda v: isinstance(v, int) and not isinstance(v, bool),
                                    "a whole number") for a in arg_nodes)
            if MISSING in (low, high):
                return MISSING
            if low > high:
                self.error(f"`randint({low}, {high})` draws from an empty range: its first bound must not be "
                           "above its second", span_of(node, scope.source))
                return MISSING
            if high - low >= REPEAT_LIMIT * REPEAT_LIMIT:
                self.error(f"`randint` draws from at most {REPEAT_LIMIT * REPEAT_LIMIT:,} values, not "
                           f"{high - low + 1:,}", span_of(node, scope.source))
                return MISSING
            options = range(low, high + 1)
        value = options[0 if self.variant is None else draw_index(self.variant, self.attempt, ordinal, len(options))]
        self.drawn.append(value)
        return value

    def bounded(self, value, node, scope: _Scope):
        """A computed whole number, or MISSING (and a message) when it has more digits than a spec allows."""
        if isinstance(value, int) and abs(value) >= 10 ** NUMBER_DIGITS:
            self.error(f"this value has {len(str(abs(value))):,} digits, more than the {NUMBER_DIGITS} a spec "
                       "allows", span_of(node, scope.source))
            return MISSING
        return value

    def undefined(self, name: str, span: Span, scope: _Scope | None = None) -> None:
        scope = scope or self.scope
        index = self.indices.get(name)
        if index is not None:
            where = f"line {index.line}" if index.source is span.source else f"{index.source.path}:{index.line}"
            self.error(f"undefined variable `{name}`: the repeat at {where} names its index `{name}`, which only the "
                       "expressions written inside that repeat see (a block called there takes it as an argument)",
                       span)
            return
        hint = suggest(name, list(scope.env)) if scope else ""
        if not hint:
            hint = f"; define it with `let {name} = ...` or on the command line with `--set {name}=...`"
        self.error(f"undefined variable `{name}`{hint}", span)

    def truth(self, node, scope: _Scope):
        value = self.typed(node, scope, lambda v: isinstance(v, (bool, int)), "true or false")
        return value if value is MISSING else bool(value)

    def number(self, node, scope: _Scope):
        return self.typed(node, scope, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")

    def typed(self, node, scope: _Scope, accepts, expected: str):
        """The value of an expression that must be of one kind (a bare word here is an undefined variable)."""
        value = self.eval(node, scope)
        if value is MISSING:
            return MISSING
        if isinstance(value, Word):
            self.undefined(str(value), span_of(node, scope.source), scope)
            return MISSING
        if not accepts(value):
            self.error(f"expected {expected} here, not {shown(value)}", span_of(node, scope.source))
            return MISSING
        return value

    def binop(self, node, scope: _Scope):
        """`a + b * c - …`: the chain of operators at the left of the tree is walked, not recursed, so that an
        expression of any length is evaluated in constant stack depth."""
        spine = _left_spine(node, ("binop",))
        value = self.number(spine[-1].children[0], scope)
        for link in reversed(spine):
            right = self.number(link.children[2], scope)
            value = self.bounded(self.arithmetic(value, link.children[1], right, link.children[2], scope), link, scope)
        return value

    def arithmetic(self, left, op_token, right, right_node, scope: _Scope):
        if left is MISSING or right is MISSING:
            return MISSING
        op = str(op_token)
        if op in ("/", "//", "%") and right == 0:
            self.error("division by zero", span_of(right_node, scope.source))
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
                self.error(f"{left} / {right} does not divide exactly; write `//` to round down",
                           span_of(op_token, scope.source))
                return MISSING
            return left // right
        return left / right


def _left_spine(node, kinds) -> list:
    """`node` and, while the left operand is one of `kinds` too, that operand: the outermost first."""
    spine = [node]
    while getattr(spine[-1].children[0], "data", None) in kinds:
        spine.append(spine[-1].children[0])
    return spine


def _label_and_unit(item):
    """An `item` node's label (or None) and its unit."""
    if len(item.children) == 2:
        label, unit = item.children
        if label is None:
            return None, unit
        token = label.children[0]
        if token.type == "STRING":
            return str(token)[1:-1], unit
        return (str(int(token)) if token.type == "INT" else str(token)), unit  # the child `1` for `01:`
    return None, item.children[0]


def _in_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Errors by file and position; each note stays right after its error."""
    groups: list[list[Diagnostic]] = []
    for d in diagnostics:
        if d.severity == "note" and groups:
            groups[-1].append(d)
        else:
            groups.append([d])
    groups.sort(key=lambda g: (g[0].span is None, g[0].span.source.path if g[0].span else "",
                               g[0].span.start if g[0].span else 0))
    return [d for group in groups for d in group]


def _end(source: Source) -> Span:
    from ..lang.syntax import _end_span

    return _end_span(source)


def first_line(span: Span) -> Span:
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
