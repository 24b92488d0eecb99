"""IR to Report: run each layer's registry rule in order, tracking shape and receptive field, naming each
layer by its place in the network (`layer2.1.conv1`) and summing blocks, repeats and labelled groups."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from .. import ops
from ..lang.errors import CnnspecError, Diagnostic, Span, suggest
from ..lang.ir import Block, Group, Layer, Merge, Network, Ref, Repeat
from ..lang.words import shape_text
from .report import LayerReport, Report, ScopeReport, Totals
from .resolve import first_line, resolve
from ..lang.syntax import Program
from ..lang.words import shape_text

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
FIELD_LIMIT = 10**18  # receptive fields and jumps beyond this many input pixels are reported as infinite


def analyze(net: Program | Network, /, batch: int = 1, dtype: str = "float32", **variables) -> Report:
    """Analyze a parsed program (resolving it with `variables`) or an already resolved network."""
    if isinstance(net, Program):
        net = resolve(net, variables)
    elif variables:
        raise TypeError("variables apply to a parsed program, not to an already resolved Network")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, not {dtype!r}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    return _Analysis(net).run(batch, dtype)


@dataclass(frozen=True, slots=True)
class Step:
    """One layer as the analysis ran it: the IR node, what its rule saw, and what the rule returned."""

    node: Layer | Merge
    context: ops.LayerContext
    result: ops.LayerResult
    input_field: tuple  # the receptive field and jump of its input, which its window grows
    input_jump: tuple
    source: int  # the layer whose output it takes (0: INPUT); a merge takes its branches' ends, in `inputs`


def analyze_steps(net: Network) -> tuple[Report, tuple[Step, ...]]:
    """The Report, with each layer's rule input and result (for answer keys, which show the working)."""
    analysis = _Analysis(net, keep_steps=True)
    return analysis.run(1, "float32"), tuple(analysis.steps)


def apply(node: Layer | Merge, shape: tuple[int, ...], branches: tuple[tuple[int, ...], ...] = ()):
    """Run one layer's rule on another input (a student's own previous answer): (context, result).

    Raises CnnspecError when the layer cannot take that input, a shape no INPUT could have included.
    """
    for given in branches or (shape,):
        if not 1 <= len(given) <= 4 or not all(1 <= n <= ops.SIZE_LIMIT for n in given):
            raise CnnspecError(f"{node.text} cannot take an input of {shape_text(given)}: a shape is C and 0 to 3 "
                               f"spatial sizes, each from 1 to {ops.SIZE_LIMIT:,}", node.span)
    op = ops.get(node.op)
    ctx = ops.LayerContext(node, op, ops.fill_defaults(op, node), branches[0] if branches else shape, shape[1:],
                           branches=branches, branch_spans=(node.span,) * len(branches))
    return ctx, op.rule(ctx)


@dataclass(frozen=True, slots=True)
class _State:
    """What flows along the chain: the tensor's shape, its receptive field and jump, and where it came from."""

    shape: tuple[int, ...]
    receptive: tuple
    jump: tuple
    extent: tuple[int, ...]  # the spatial size of the map the elements index (kept through FLATTEN)
    last: int  # index of the layer that produced it; 0 is INPUT
    end: Span | None  # where that layer is written, for messages about branches
    named: bool = False  # taken by `@name`: the layer reading it says which one it reads


class _Namer:
    """Names children in one module scope: a child's label, else its position (as nn.Sequential does).

    A name is a module of the lowered network, so a label may name one child only.
    """

    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.count = 0
        self.labels: dict[str, Span] = {}
        self.positions: set[str] = set()  # the names of the unlabelled children so far (a number label may not take one)
        self.outputs: dict[str, _State] = {}  # what each label named gave, for `@label` later in the scope
        self.layers: dict[str, tuple] = {}  # each labelled layer: (its IR, its report), for `shares=` later

    def shared(self, layer: Layer):
        """The (IR, report) of the layer whose weights `layer` shares (`shares=label`): one labelled earlier
        in this scope."""
        found = self.layers.get(layer.shares)
        if found is not None:
            return found
        known = list(self.layers)
        why = ("the layers labelled before it here are " + ", ".join(f"`{k}`" for k in known)
               + suggest(layer.shares, known)) if known else "no layer before it in this scope has a label"
        raise CnnspecError(f"`shares={layer.shares}` names no earlier layer of this scope: {why}", layer.shares_span)

    def output(self, ref: Ref) -> _State:
        """The output `@label` goes on from: an item labelled so earlier in this scope."""
        found = self.outputs.get(ref.label)
        if found is not None:
            return found
        known = [k for k in self.outputs if k != "input"]
        if known:
            why = "the labels before it here are " + ", ".join(f"`{k}`" for k in known) + suggest(ref.label, known)
        else:
            why = "no item before it in this scope has a label (label one, `stem: CONV(…)`; `@input` is the scope's input)"
        raise CnnspecError(f"`{ref.text}` names no earlier output of this scope (a block's body, a labelled group or "
                           f"repeat, or the network): {why}", ref.span)

    def name(self, node) -> str:
        position = self.count
        self.count += 1
        label = node.label
        if not label:
            if str(position) in self.labels:
                raise CnnspecError(f"this item is number {position} of its scope, which names it `{position}`, but "
                                   f"the label `{position}` names another here", first_line(node.span))
            self.positions.add(str(position))
            return self.prefix + str(position)
        if label in self.positions:
            raise CnnspecError(f"label `{label}` is the name of the unlabelled item at that position of this scope "
                               f"already: a label names one layer", first_line(node.span))
        first = self.labels.get(label)
        self.labels.setdefault(label, node.span)
        if first is not None and first.start == node.span.start and first.source is node.span.source:
            raise CnnspecError(f"label `{label}` is inside a repeat, so it would name one layer per pass: label "
                               "the repeat instead (`stage: [...] * 2` names stage.0, stage.1, …)",
                               first_line(node.span))
        if first is not None:
            where = f"line {first.line}" if first.source is node.span.source else f"{first.source.path}:{first.line}"
            raise CnnspecError(f"label `{label}` is already used here (at {where}): a label names one layer",
                               first_line(node.span))
        return self.prefix + label


@dataclass
class _OpenScope:
    id: int
    kind: str
    text: str
    path: str
    span: Span
    parent: int | None
    depth: int
    first: int = 0
    node: object = None  # the IR node: a repeat's index is in its report


class _Analysis:
    def __init__(self, net: Network, keep_steps: bool = False):
        self.net = net
        self.steps: list[Step] | None = [] if keep_steps else None
        self.layers: list[LayerReport] = []
        self.scopes: list[ScopeReport | None] = []
        self.warnings: list[Diagnostic] = []
        self.seen_warnings: set[tuple[str, str, int]] = set()
        self.int64_buffers = 0
        self.sources: list[tuple[int, ...]] = []  # for each layer, the layers whose outputs it reads (0: INPUT)

    def run(self, batch: int, dtype: str) -> Report:
        op = ops.get("input")
        given = tuple(self.net.input.arg("shape").value)
        ctx = ops.LayerContext(self.net.input, op, ops.fill_defaults(op, self.net.input), given, given[1:])
        shape = op.rule(ctx).shape
        self.warn(ctx)
        rank = len(shape) - 1
        state = _State(shape, (1,) * rank, (1,) * rank, shape[1:], 0, self.net.input.span)
        state = self.walk(self.net.body, state, (), _Namer())
        self.mark_unused(state.last)
        size = DTYPE_BYTES[dtype]
        layers = self.layers
        params = sum(l.params for l in layers)
        buffers = sum(l.buffers for l in layers)
        run = [l for l in layers if not l.unused]
        activations = sum(l.activations for l in run)
        totals = Totals(
            params=params, buffers=buffers, macs=sum(l.macs for l in run), activations=activations,
            param_bytes=params * size,
            buffer_bytes=(buffers - self.int64_buffers) * size + self.int64_buffers * 8,
            input_bytes=batch * math.prod(shape) * size,
            activation_bytes=batch * activations * size,
            unused_params=sum(l.params for l in layers if l.unused),
        )
        return Report(self.net.source.path, self.net.input.text, shape, state.shape, tuple(layers), totals,
                      tuple(self.warnings), batch, dtype, tuple(self.scopes))

    def mark_unused(self, last: int) -> None:
        """Mark the layers the output does not depend on (an auxiliary head left behind by `@name`), and take
        their MACs and outputs out of their scopes' sums."""
        used, pending = set(), [last]
        while pending:
            index = pending.pop()
            if index and index not in used:
                used.add(index)
                pending.extend(self.sources[index - 1])
        if len(used) == len(self.layers):
            return
        self.layers = [l if l.index in used else replace(l, unused=True) for l in self.layers]
        for i, scope in enumerate(self.scopes):
            inside = [l for l in self.layers[scope.first - 1:scope.last] if not l.unused]
            self.scopes[i] = replace(scope, macs=sum(l.macs for l in inside),
                                     activations=sum(l.activations for l in inside))

    # ------------------------------------------------------------------ structure

    def walk(self, nodes, state: _State, scopes: tuple[int, ...], namer: _Namer) -> _State:
        namer.outputs.setdefault("input", state)  # `@input`: what the scope takes (its first walk's)
        for node in nodes:
            if isinstance(node, Ref):
                state = replace(namer.output(node), named=True)
                continue
            state = self.node(node, state, scopes, namer)
            if node.label:
                namer.outputs[node.label] = state
        return state

    def node(self, node, state: _State, scopes: tuple[int, ...], namer: _Namer) -> _State:
        if isinstance(node, Layer):
            state = self.layer(node, state, scopes, namer.name(node), namer)
            if node.label:
                namer.layers[node.label] = (node, self.layers[-1])
        elif isinstance(node, Repeat):
            inner_namer = _Namer(namer.name(node) + ".") if node.label else namer
            scope = self.open("repeat", node, scopes, inner_namer.prefix.rstrip(".") if node.label else "")
            for body in node.passes:
                state = self.walk(body, state, (*scopes, scope.id), inner_namer)
            self.close(scope)
        elif isinstance(node, (Block, Group)):
            path = namer.name(node)
            scope = self.open("block" if isinstance(node, Block) else "group", node, scopes, path)
            try:
                state = self.walk(node.body, state, (*scopes, scope.id), _Namer(path + "."))
            except CnnspecError as error:
                if isinstance(node, Block):  # the body's line alone does not say which call failed
                    error.diagnostics.append(Diagnostic("note", f"in the call {node.text}", first_line(node.span)))
                raise
            self.close(scope)
        elif isinstance(node, Merge):
            state = self.merge(node, state, scopes, namer)
        else:
            raise AssertionError(f"unknown IR node {node!r}")
        return state

    def open(self, kind: str, node, scopes: tuple[int, ...], path: str) -> _OpenScope:
        text = f"{node.label}: {node.text}" if node.label else node.text
        scope = _OpenScope(len(self.scopes) + 1, kind, text, path, node.span, scopes[-1] if scopes else None,
                           len(scopes) + 1, len(self.layers) + 1, node)
        self.scopes.append(None)  # filled in when the scope closes, with its sums
        return scope

    def close(self, scope: _OpenScope) -> None:
        inside = self.layers[scope.first - 1:]
        self.scopes[scope.id - 1] = ScopeReport(
            id=scope.id, kind=scope.kind, text=scope.text, path=scope.path, line=scope.span.line,
            column=scope.span.column, parent=scope.parent, depth=scope.depth,
            first=scope.first, last=len(self.layers),
            params=sum(l.params for l in inside), buffers=sum(l.buffers for l in inside),
            macs=sum(l.macs for l in inside), activations=sum(l.activations for l in inside),
            index=getattr(scope.node, "index", None))

    # ------------------------------------------------------------------ layers

    def layer(self, layer: Layer, state: _State, scopes, path: str, namer: _Namer) -> _State:
        op = ops.get(layer.op)
        ctx = ops.LayerContext(layer, op, ops.fill_defaults(op, layer), state.shape, state.extent)
        result = op.rule(ctx)
        shares = None
        if layer.shares is not None:
            shares = self.shares(layer, namer.shared(layer), ctx, state, result)
            result = replace(result, params=0, buffers=0, int64_buffers=0)  # they are the other layer's
        receptive, jump = state.receptive, state.jump
        if result.window is not None:
            receptive = tuple(r if k == 1 else _exact(r + (k - 1) * j)
                              for r, k, j in zip(receptive, result.window.kernel, jump))
            jump = tuple(_exact(j * s) for j, s in zip(jump, result.window.stride))
        return self.record(layer, op, ctx, result, state, receptive, jump, scopes, path, (), shares)

    @staticmethod
    def shares(layer: Layer, shared: tuple, ctx: ops.LayerContext, state: _State, result) -> str:
        """The path of the layer whose weights `layer` uses, once it is sure they fit: the same kind with the same
        arguments, on an input with as many channels (the spatial size may differ: a detection head shared by
        the levels of a feature pyramid)."""
        other, report = shared
        if not result.params and not result.buffers:
            raise CnnspecError(f"{layer.text}: {layer.op.upper()} has no weights to share", layer.shares_span)
        if (other.op, dict(ops.fill_defaults(ops.get(other.op), other))) != (layer.op, dict(ctx.args)):
            raise CnnspecError(f"{layer.text} cannot share the weights of `{other.label}`, {other.text}: a layer that "
                               f"shares another's weights is the same layer, with the same arguments",
                               layer.shares_span)
        if report.input_shape[0] != state.shape[0] or (result.params, result.buffers) != (report.params,
                                                                                           report.buffers):
            raise CnnspecError(f"{layer.text} receives {shape_text(state.shape)}, but `{other.label}`, whose weights "
                               f"it shares, receives {shape_text(report.input_shape)}: its weights would not fit",
                               layer.shares_span)
        return report.path

    def merge(self, node: Merge, state: _State, scopes, namer: _Namer) -> _State:
        ends = []
        for branch, branch_span in zip(node.branches, node.branch_spans):
            end = self.walk(branch, replace(state, end=first_line(branch_span)), scopes, namer)
            ends.append(end)
        op = ops.get(node.op)
        ctx = ops.LayerContext(node, op, ops.fill_defaults(op, node), ends[0].shape, state.extent,
                               branches=tuple(e.shape for e in ends), branch_spans=tuple(e.end for e in ends))
        result = op.rule(ctx)
        # The receptive field through branches is the largest over the paths. The jump is the largest of
        # the branches that keep the output's spatial size: a broadcast gate (C×1×1) sets no grid.
        receptive = tuple(max(values) for values in zip(*(e.receptive for e in ends)))
        full = [e for e in ends if e.shape[1:] == result.shape[1:]] or ends
        jump = tuple(max(values) for values in zip(*(e.jump for e in full)))
        merged = replace(state, extent=ends[0].extent)
        return self.record(node, op, ctx, result, merged, receptive, jump, scopes, namer.name(node),
                           tuple(e.last for e in ends))

    def warn(self, ctx: ops.LayerContext) -> None:
        """The rule's warnings, each once (a block's body runs for every call)."""
        for message, span in ctx.warnings:
            key = (message, span.source.path, span.start)
            if key not in self.seen_warnings:
                self.seen_warnings.add(key)
                self.warnings.append(Diagnostic("warning", message, span))

    def record(self, node, op, ctx, result, state: _State, receptive, jump, scopes, path, inputs,
               shares=None) -> _State:
        largest = max(result.shape)
        if largest > ops.SIZE_LIMIT:  # e.g. RESIZE(scale=1e9): a typo, not a network
            size = f"{largest:,}" if largest < 10**15 else f"about 10^{len(str(largest)) - 1}"
            ctx.fail(f"{node.text}: its output would have a size of {size}, above the limit of {ops.SIZE_LIMIT:,}")
        self.warn(ctx)
        self.int64_buffers += result.int64_buffers
        if self.steps is not None:
            self.steps.append(Step(node, ctx, result, state.receptive, state.jump, state.last))
        index = len(self.layers) + 1
        self.sources.append(inputs or (state.last,))
        self.layers.append(LayerReport(
            index=index, op=op.name, text=node.text, line=node.span.line, column=node.span.column,
            resolved=node.text if op.merge else op.call_text((k, a.value) for k, a in node.args),
            input_shape=state.shape, output_shape=result.shape, params=result.params, buffers=result.buffers,
            macs=result.macs, activations=math.prod(result.shape), receptive_field=receptive, jump=jump,
            path=path, inputs=inputs or ((state.last,) if state.named else ()), scopes=scopes, shares=shares,
        ))
        if result.extent is not None:
            extent = result.extent
        elif len(result.shape) > 1:
            extent = result.shape[1:]
        else:
            extent = state.extent
        return _State(result.shape, receptive, jump, extent, index, node.span)


def _exact(value):
    """Keep whole numbers as ints, fractions only where a resize or adaptive pool made them, and anything beyond
    FIELD_LIMIT as infinity: only a network that strides far past its input gets there, and the exact number
    (thousands of digits after a few hundred strides) would say nothing more."""
    if value > FIELD_LIMIT:
        return math.inf
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value
