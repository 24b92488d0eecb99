"""IR and Report to standalone PyTorch source: what `cnnspec lower FILE -o model.py` writes.

The generated file imports only torch and builds, with no argument, the same module as `lower.lower`: the
same parameter and buffer names (`layer1.0.conv1.weight`), in the same order, with the same shapes, and the
same forward. It reads as a student would write it:

- one main class (`Net`): `__init__` names each submodule, `forward` calls them in turn; when the spec's
  names are positions (LeNet's `0.weight`), it is an nn.Sequential whose forward loops over its layers;
- one helper class per block of the spec that holds layers of its own (`class Basic(nn.Module)`, its own
  forward), however often it is called: its constructor takes the block's parameters (`planes`, `s=1`),
  the layers are written with the spec's expressions (`nn.Conv2d(in_channels, 4 * planes, ...)`), and the
  parts that a repeat count of 0 leaves out in some calls are written under their condition (`if proj:`);
- blocks made only of blocks (`basic_layer`), labelled groups and repeats are nn.Sequential containers;
  repeats of one block become loops (`*[DenseLayer(64 + 32 * i) for i in range(6)]`,
  `for block in self.layer1: x = block(x)`);
- branches are written out in forward: `x = out + identity`, `torch.cat([...], dim=1)`, `x * scale`;
- every layer, block call and group carries a comment with its source line: `# line 4: CONV(6, k=5, p=2)`.

Nothing is trusted blindly: a spec expression gives a value only if, evaluated with the values of every call
of the class, it gives exactly the value `lower` uses; else the value is a number (when the same in every
call) or a new constructor parameter. torch is not imported here: generating is writing text.
"""

from __future__ import annotations

import ast
import copy
import keyword
import os
import re
from dataclasses import dataclass, field

from .. import ops
from ..lang.ir import Block, BlockCall, Group, Layer, Merge, Network, Repeat
from ..lang.syntax import Program

LINE_LIMIT = 99
INDENT = "    "

# --------------------------------------------------------------------------------------- entry


def generate(net: Program | Network, *, class_name: str = "Net", **variables) -> str:
    """The source of a Python module defining `class_name`, an nn.Module equivalent to the spec."""
    from ..analysis.analyze import analyze
    from ..analysis.resolve import resolve

    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        raise ValueError(f"class_name must be a Python identifier, not {class_name!r}")
    # A block becomes a class with the spec's parameters from the calls the IR records. They are read only
    # for a spec resolved here, with `variables`; a Network given is written with plain values.
    with_calls = isinstance(net, Program)
    if with_calls:
        net = resolve(net, variables)
    report = analyze(net)
    root = _ModelBuilder(report, with_calls).network(net)
    return _Generator(net, report, root, class_name, variables).source()


# ------------------------------------------------------------------------------------ the model
#
# The module tree `lower` builds, with the IR structure kept: a scope (the network, a block call, a labelled
# group or repeat) holds items; an unlabelled repeat keeps its passes (their modules are children of the
# scope); a merge keeps its branches (their modules too). Child names are the Report's.


@dataclass(eq=False)
class _LayerItem:
    name: str
    node: Layer | Merge
    report: object
    branches: list = field(default_factory=list)  # merges: a list of item lists

    @property
    def stateful(self) -> bool:
        return self.report.params + self.report.buffers > 0


@dataclass(eq=False)
class _ScopeItem:
    name: str
    scope: _Scope

    @property
    def stateful(self) -> bool:
        return self.scope.report.params + self.scope.report.buffers > 0


@dataclass(eq=False)
class _RepeatItem:
    node: Repeat
    report: object
    passes: list  # a list of item lists


@dataclass(eq=False)
class _Scope:
    kind: str  # "root" | "block" | "group" | "repeat"
    node: object
    report: object
    items: list
    input_shape: tuple
    output_shape: tuple
    call: BlockCall | None = None  # a block call's parameters, when they are known
    cls: _ClassDef | None = None  # the class it is an instance of, None when written inline

    def children(self) -> list:
        """The scope's modules in the order `lower` adds them: (name, item)."""
        out: list = []
        _collect_children(self.items, out)
        return out

    @property
    def name(self) -> str:
        return self.node.name if isinstance(self.node, Block) else (self.node.label or "")


def _collect_children(items, out) -> None:
    for item in items:
        if isinstance(item, _RepeatItem):
            for one_pass in item.passes:
                _collect_children(one_pass, out)
        elif isinstance(item, _LayerItem) and item.branches:
            for branch in item.branches:
                _collect_children(branch, out)
            out.append((item.name, item))
        else:
            out.append((item.name, item))


class _ModelBuilder:
    """Walks the IR in the order `lower` and the analysis do, taking each layer's and scope's report in turn."""

    def __init__(self, report, with_calls: bool):
        self.layers = iter(report.layers)
        self.scopes = iter(report.scopes)
        self.with_calls = with_calls

    def network(self, net: Network) -> _Scope:
        shape = tuple(net.input.arg("shape").value)
        items, out = self.items(net.body, shape)
        return _Scope("root", net, None, items, shape, out)

    def items(self, nodes, shape):
        items = []
        for node in nodes:
            if isinstance(node, Layer):
                report = next(self.layers)
                items.append(_LayerItem(_last(report.path), node, report))
                shape = report.output_shape
            elif isinstance(node, Repeat):
                scope_report = next(self.scopes)
                start = shape
                passes = []
                for _ in range(node.count):
                    one_pass, shape = self.items(node.body, shape)
                    passes.append(one_pass)
                repeat = _RepeatItem(node, scope_report, passes)
                if node.label:
                    scope = _Scope("repeat", node, scope_report, [repeat], start, shape)
                    items.append(_ScopeItem(_last(scope_report.path), scope))
                else:
                    items.append(repeat)
            elif isinstance(node, (Block, Group)):
                scope_report = next(self.scopes)
                inner, out = self.items(node.body, shape)
                kind = "block" if isinstance(node, Block) else "group"
                call = node.call if kind == "block" and self.with_calls else None
                scope = _Scope(kind, node, scope_report, inner, shape, out, call)
                items.append(_ScopeItem(_last(scope_report.path), scope))
                shape = out
            elif isinstance(node, Merge):
                branches = [self.items(branch, shape)[0] for branch in node.branches]
                report = next(self.layers)
                items.append(_LayerItem(_last(report.path), node, report, branches))
                shape = report.output_shape
            else:
                raise AssertionError(f"unknown IR node {node!r}")
        return items, shape


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


# ------------------------------------------------------------------------------ expressions
#
# A spec expression becomes Python when it only uses what Python reads the same way: numbers, names,
# + - * / // %, comparisons, and/or/not, if-else, tuples, min/max/abs.

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Name, ast.Load,
    ast.Constant, ast.Tuple, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd,
    ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Call,
)
_FUNCTIONS = {"min": min, "max": max, "abs": abs}


def _parse_expression(text: str | None):
    """The spec expression `text` as a Python AST, or None when it does not read the same in Python."""
    if text is None:
        return None
    text = re.sub(r"\b(true|false)\b", lambda m: m.group(1).capitalize(), text.strip(), flags=re.IGNORECASE)
    if re.search(r"\bin\b", text):  # `in`: the input channels, a word of the spec with no Python equivalent
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return None
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                                               and not node.keywords):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "in":
            return None
    return tree.body


def _names(tree) -> set[str]:
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls}


def _substitute(tree, mapping: dict):
    """A copy of `tree` with each name replaced by its AST in `mapping`."""
    tree = copy.deepcopy(tree)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

    class Replace(ast.NodeTransformer):
        def visit_Name(self, node):
            return node if id(node) in calls else copy.deepcopy(mapping[node.id])

    return Replace().visit(tree)


def _evaluate(tree, env: dict):
    try:
        code = compile(ast.fix_missing_locations(ast.Expression(tree)), "<spec>", "eval")
        return eval(code, {"__builtins__": {}, **_FUNCTIONS}, env)  # noqa: S307 - a checked, tiny AST
    except Exception:  # noqa: BLE001 - a division by zero or a type error: the expression is not usable
        return _FAILED


_FAILED = object()


def _same(a, b) -> bool:
    """Equal values of the same type (True is not 1, 2.0 is not 2), tuples item by item."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
    return type(a) is type(b) and a == b


def _literal(value) -> str:
    if isinstance(value, str):
        text = str(value)
        return f'"{text}"' if '"' not in text and "\\" not in text else repr(text)
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _value_text(value) -> str:
    """A value as the spec writes it (`true`, `(3, 5)`, `0.5`)."""
    from ..lang.words import value_text

    return value_text(value.value if hasattr(value, "value") and hasattr(value, "span") else value)


def _literal_ast(value):
    return ast.parse(_literal(value), mode="eval").body


def _is_literal_value(value) -> bool:
    if isinstance(value, tuple):
        return all(_is_literal_value(v) for v in value)
    return isinstance(value, (bool, int, float, str))


def _unparse(tree) -> str:
    return ast.unparse(tree)


# ------------------------------------------------------------------------------ layer templates
#
# What each layer kind becomes is the registry's (ops.TorchSource): the torch class and its arguments. Here
# the arguments become slots (a value per instance, where the spec wrote it, how a value can be derived,
# torch's default), so that a class can write them as expressions.


@dataclass
class _Slot:
    keyword: str | None  # None: positional
    values: list  # one per instance (None where the instance has no such layer)
    arg: str | None = None  # the spec argument it comes from (its text is the expression to try)
    channels: bool = False  # the input channels of the layer (derived from the previous layer)
    default: object = None  # torch's default: the keyword is left out when every value equals it
    has_default: bool = False
    role: str = ""  # a name for a constructor parameter, when one is needed


def _rank(shape) -> int:
    return max(len(shape) - 1, 1)


def _module_class(op: str, shape, flattening: bool = True) -> str:
    """The class generated source builds the layer with (`nn.Conv2d`); for a feature map that torch's class
    would not flatten, one that does (`FlattenLinear`), unless `flattening` is False (forward flattens)."""
    source = ops.get(op).source
    if flattening and _flattens_first(op, shape):
        return source.flattening_cls
    return source.cls.format(rank=_rank(shape))


def _flattens_first(op: str, shape) -> bool:
    """Whether the layer receives a feature map that its torch class would not flatten (FC after a CONV)."""
    return ops.get(op).source.flattening_cls is not None and len(shape) > 1


def _inline(col: _Col) -> bool:
    """Whether forward writes the layer as an expression rather than as a module (SPLIT: `torch.chunk`)."""
    return col.kind == "layer" and ops.get(col.rep.node.op).source.inline is not None


def _layer_slots(items: list) -> list[_Slot]:
    """The constructor arguments of a layer, one value per instance (items: the layer in each instance)."""
    present = [i for i in items if i is not None]
    op = ops.get(present[0].node.op)
    args = [ops.fill_defaults(op, i.node) if i is not None else None for i in items]
    present_args = [a for a in args if a is not None]
    slots = []
    for source_arg in op.source.args:
        values = [source_arg.value_of(a, i.report.input_shape, i.report.output_shape) if i is not None else None
                  for a, i in zip(args, items)]
        channels = source_arg.channels
        if not isinstance(channels, bool):
            channels = channels(present_args, present[0].report.input_shape)
        has_default = source_arg.default is not ops.NO_DEFAULT
        slots.append(_Slot(None if source_arg.positional else source_arg.role, values, arg=source_arg.arg,
                           channels=channels, default=source_arg.default if has_default else None,
                           has_default=has_default, role=source_arg.role))
    return slots


class _Channels:
    """A number of channels as an expression in a class's parameters (tree None: unknown), for the registry's
    channel rules to compute with."""

    def __init__(self, tree):
        self.tree = tree

    def __floordiv__(self, other: _Channels) -> _Channels:
        if self.tree is None or other.tree is None:
            return _Channels(None)
        return _Channels(ast.BinOp(self.tree, ast.FloorDiv(), other.tree))


_HELPERS = {  # the classes of cnnspec's own that a TorchSource may name, written into the generated file
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """Stochastic depth, as torchvision.ops.StochasticDepth: in training, zeroes the whole input
    of a sample ("row") or of the batch ("batch") with probability p and scales the rest by
    1 / (1 - p); the identity at inference."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.mode == "row":
            shape = [x.shape[0]] + [1] * (x.dim() - 1)
        else:
            shape = [1] * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        if self.p < 1.0:
            return x * keep / (1.0 - self.p)
        return x * keep
''',
    "Split": '''
class Split(nn.Module):
    """One piece of the channels: torch.chunk(x, parts, dim=1)[index]."""

    def __init__(self, parts, index):
        super().__init__()
        self.parts = parts
        self.index = index

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=1)[self.index]
''',
    "FlattenLinear": '''
class FlattenLinear(nn.Linear):
    """nn.Linear on a feature map: flattens it first."""

    def forward(self, x):
        return super().forward(torch.flatten(x, 1))
''',
}


# ------------------------------------------------------------------------------ class templates
#
# The calls of a block that share a class are aligned item by item into columns: a column holds the same
# layer (or merge, scope, repeat) in every call, or None in the calls that lack it — a part that a repeat
# count of 0 leaves out (`downsample: [...] * proj`), which the class writes under an `if`. Values
# (channels, strides, …) may differ from call to call: they become the class's parameters.


@dataclass(eq=False)
class _Col:
    kind: str  # "layer" | "merge" | "scope" | "repeat"
    items: list  # per instance: the item, or None where the instance has no such part
    branches: list = field(default_factory=list)  # merge: a column list per branch
    passes: list = field(default_factory=list)  # repeat: a column list per pass
    inner: list = field(default_factory=list)  # a scope written inline: its columns
    optional: bool = False

    @property
    def rep(self):
        return next(item for item in self.items if item is not None)


def _columns(items, before: int) -> list[_Col]:
    return [_column(item, before) for item in items]


def _column(item, before: int) -> _Col:
    pad = [None] * before
    if isinstance(item, _RepeatItem):
        return _Col("repeat", pad + [item], passes=[_columns(p, before) for p in item.passes])
    if isinstance(item, _LayerItem) and item.branches:
        return _Col("merge", pad + [item], branches=[_columns(b, before) for b in item.branches])
    if isinstance(item, _LayerItem):
        return _Col("layer", pad + [item])
    inner = _columns(item.scope.items, before) if item.scope.cls is None else []
    return _Col("scope", pad + [item], inner=inner)


def _pad(col: _Col) -> _Col:
    """The column with one more instance that lacks it."""
    return _Col(col.kind, col.items + [None], [[_pad(c) for c in b] for b in col.branches],
                [[_pad(c) for c in p] for p in col.passes], [_pad(c) for c in col.inner], col.optional)


def _optional_item(item) -> bool:
    """A part that a repeat count of 1 put there, so that a count of 0 in another call may leave it out."""
    if isinstance(item, _RepeatItem):
        return item.node.count == 1
    return isinstance(item, _ScopeItem) and item.scope.kind == "repeat" and item.scope.node.count == 1


def _optional_col(col: _Col) -> bool:
    return col.optional or all(_optional_item(item) for item in col.items if item is not None)


def _positional(scope: _Scope) -> bool:
    return all(name == str(i) for i, (name, _) in enumerate(scope.children()))


def _merge_columns(cols: list, items: list, n: int, optional: bool):
    """The columns extended with instance number n (`items`), or None if its structure differs otherwise.

    Items are matched in order (a longest common subsequence); an unmatched column or item must be an
    optional part, and only where `optional` allows parts to come and go.
    """
    a, b = len(cols), len(items)
    fits: dict = {}

    def fit(i, j):
        if (i, j) not in fits:
            fits[(i, j)] = _extend(cols[i], items[j], n, optional)
        return fits[(i, j)]

    if a == b and all(fit(i, i) is not None for i in range(a)):
        return [fit(i, i) for i in range(a)]
    if not optional:
        return None
    impossible = -1
    best = [[impossible] * (b + 1) for _ in range(a + 1)]
    best[a][b] = 0
    for i in range(a, -1, -1):
        for j in range(b, -1, -1):
            if i == a and j == b:
                continue
            options = []
            if i < a and j < b and best[i + 1][j + 1] != impossible and fit(i, j) is not None:
                options.append(best[i + 1][j + 1] + 1)
            if i < a and best[i + 1][j] != impossible and _optional_col(cols[i]):
                options.append(best[i + 1][j])
            if j < b and best[i][j + 1] != impossible and _optional_item(items[j]):
                options.append(best[i][j + 1])
            best[i][j] = max(options) if options else impossible
    if best[0][0] == impossible:
        return None
    out, i, j = [], 0, 0
    while i < a or j < b:
        if i < a and j < b and best[i + 1][j + 1] != impossible and fit(i, j) is not None \
                and best[i][j] == best[i + 1][j + 1] + 1:
            out.append(fit(i, j))
            i, j = i + 1, j + 1
        elif i < a and best[i + 1][j] == best[i][j] and _optional_col(cols[i]) and not (
                j < b and best[i][j + 1] == best[i][j] and _optional_item(items[j])
                and _source_position(items[j]) < _source_position(cols[i].rep)):
            col = _pad(cols[i])
            col.optional = True
            out.append(col)
            i += 1
        else:
            col = _column(items[j], n)
            col.optional = True
            out.append(col)
            j += 1
    return out


def _source_position(item) -> int:
    node = item.node if not isinstance(item, _ScopeItem) else item.scope.node
    return node.span.start if getattr(node, "span", None) is not None else 0


def _extend(col: _Col, item, n: int, optional: bool):
    """The column with `item` added as instance n, or None when the item is not the same part."""
    rep = col.rep
    if col.kind == "layer":
        if not isinstance(item, _LayerItem) or item.branches or item.node.op != rep.node.op \
                or item.node.label != rep.node.label \
                or _module_class(item.node.op, item.report.input_shape) \
                != _module_class(rep.node.op, rep.report.input_shape):
            return None
        return _Col("layer", col.items + [item], optional=col.optional)
    if col.kind == "merge":
        if not isinstance(item, _LayerItem) or not item.branches or item.node.op != rep.node.op \
                or item.node.label != rep.node.label or len(item.branches) != len(rep.branches):
            return None
        branches = [_merge_columns(c, i, n, optional) for c, i in zip(col.branches, item.branches)]
        if any(b is None for b in branches):
            return None
        return _Col("merge", col.items + [item], branches=branches, optional=col.optional)
    if col.kind == "repeat":
        if not isinstance(item, _RepeatItem) or item.node.count != rep.node.count:
            return None
        passes = [_merge_columns(c, i, n, optional) for c, i in zip(col.passes, item.passes)]
        if any(p is None for p in passes):
            return None
        return _Col("repeat", col.items + [item], passes=passes, optional=col.optional)
    if not isinstance(item, _ScopeItem) or item.scope.kind != rep.scope.kind \
            or item.scope.node.label != rep.scope.node.label or item.scope.cls is not rep.scope.cls:
        return None
    if item.scope.kind == "block" and item.scope.node.name != rep.scope.node.name:
        return None
    inner = []
    if item.scope.cls is None:
        allowed = _positional(item.scope) and _positional(rep.scope)
        inner = _merge_columns(col.inner, item.scope.items, n, allowed)
        if inner is None:
            return None
    return _Col("scope", col.items + [item], inner=inner, optional=col.optional)


def _walk_columns(cols):
    """Every column of a class's own modules: inside branches and repeats, not inside other scopes."""
    for col in cols:
        yield col
        for branch in col.branches:
            yield from _walk_columns(branch)
        for one_pass in col.passes:
            yield from _walk_columns(one_pass)


def _direct_layers(items) -> bool:
    """Whether the items hold layers or merges of their own (not only inside other blocks or groups)."""
    for item in items:
        if isinstance(item, _LayerItem):
            return True
        if isinstance(item, _RepeatItem) and any(_direct_layers(p) for p in item.passes):
            return True
    return False


def _is_chain(scope: _Scope) -> bool:
    """Whether the scope's modules run one after the other (no branches of its own)."""
    return not any(isinstance(item, _LayerItem) and item.branches for _, item in scope.children())


def _mode(scope: _Scope) -> str:
    """How a class holds its children: "attr" (`self.conv1 = …`: every child with parameters is labelled),
    "seq" (an nn.Sequential of children 0, 1, 2, …), "named" (an nn.Sequential of named children)."""
    children = scope.children()
    if all(_attribute_safe(name) for name, item in children if item.stateful):
        return "attr"
    return "seq" if _positional(scope) else "named"


# ------------------------------------------------------------------------------ classes


@dataclass(eq=False)
class _Param:
    name: str
    values: list  # one per instance of the class
    spec: str | None = None  # the block parameter it stands for
    default: object = None
    has_default: bool = False
    used: bool = False
    channels: bool = False  # a number of channels (that a caller may derive from its own layers)
    default_tree: object = None  # a default written as an expression of the other parameters


@dataclass(eq=False)
class _ClassDef:
    name: str
    instances: list  # _Scope
    source_name: str  # the block's name, or the label of a group or repeat written as a class
    block: str | None  # the block definition's name (None for a group or repeat written as a class)
    kind: str
    mode: str
    chain: bool
    cols: list = field(default_factory=list)
    params: list = field(default_factory=list)  # _Param, in signature order, once written
    out_channels: object = None  # the output channels as an AST in the parameters' names, if known

    def param_values(self, instance) -> dict:
        index = next(i for i, s in enumerate(self.instances) if s is instance)
        return {p.name: p.values[index] for p in self.params}


def _camel(name: str) -> str:
    parts = [p for p in re.split(r"_+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Block"
    return text if text[0].isalpha() else "Block" + text


def _identifier(name: str) -> str:
    """A Python name for a spec name: keywords and names the generated code uses get a trailing underscore."""
    if keyword.iskeyword(name) or name in ("self", "nn", "torch", "F", "x", "super"):
        return name + "_"
    return name


_MODULE_ATTRIBUTES = frozenset(
    # nn.Module's attributes and methods: a label among these cannot be an attribute of the generated class
    "training forward parameters buffers children modules named_parameters named_buffers named_children "
    "named_modules state_dict load_state_dict to cpu cuda eval train apply float double half bfloat16 type "
    "zero_grad register_buffer register_parameter add_module register_module get_submodule get_parameter "
    "get_buffer extra_repr requires_grad_ share_memory dump_patches call_super_init compile ipu xpu mtia "
    "to_empty register_forward_hook register_forward_pre_hook register_full_backward_hook set_extra_state "
    "get_extra_state register_backward_hook register_full_backward_pre_hook register_state_dict_pre_hook "
    "register_load_state_dict_post_hook register_load_state_dict_pre_hook register_state_dict_post_hook "
    "set_submodule T_destination append extend insert pop".split())


def _attribute_safe(name: str) -> bool:
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            and name not in _MODULE_ATTRIBUTES and name not in ("self", "nn", "torch", "F", "x"))


def _count_text(text: str) -> str | None:
    """The count of a repeat written `[chain] * COUNT`, `label: [chain] * COUNT` or `name(args) * COUNT`."""
    text = re.sub(r"^\s*[A-Za-z_]\w*\s*:\s*", "", text)
    depth = 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in "*×" and depth == 0:
            return text[i + 1:].strip()
    return None


# ------------------------------------------------------------------------------ the generator


class _Generator:
    def __init__(self, net: Network, report, root: _Scope, class_name: str, variables: dict | None = None):
        self.net = net
        self.variables = variables or {}
        self.report = report
        self.root = root
        self.class_name = class_name
        self.main_path = net.source.path if net.source is not None else ""
        self.classes: list[_ClassDef] = []
        self.class_blocks: set[str] = set()
        self.helpers: set[str] = set()

    # -------------------------------------------------------------- choosing the classes

    def assign_classes(self) -> None:
        # A block becomes a class when one of its calls holds layers of its own; a group or labelled repeat
        # when it has branches (an nn.Sequential cannot run them). Blocks made only of blocks are written
        # inline, as nn.Sequential containers of their blocks.
        self._find_class_blocks(self.root.items)
        self._assign(self.root.items)
        taken = {self.class_name, *_HELPERS, "Module", "Sequential"}
        counts: dict[str, int] = {}
        for cdef in self.classes:
            base = cdef.name
            counts[base] = counts.get(base, 0) + 1
            name = base if counts[base] == 1 else f"{base}{counts[base]}"
            while name in taken:
                counts[base] += 1
                name = f"{base}{counts[base]}"
            taken.add(name)
            cdef.name = name

    def _find_class_blocks(self, items) -> None:
        for item in _walk_scope_items(items):
            scope = item.scope
            if scope.kind == "block" and _direct_layers(scope.items):
                self.class_blocks.add(scope.node.name)
            self._find_class_blocks(scope.items)

    def _assign(self, items) -> None:
        for item in _walk_scope_items(items):
            scope = item.scope
            self._assign(scope.items)  # inner classes first: a class's structure names the classes it holds
            if scope.kind == "block":
                if scope.node.name not in self.class_blocks:
                    continue
            elif _is_chain(scope):
                continue
            name = scope.node.name if scope.kind == "block" else scope.name
            mode, chain = _mode(scope), _is_chain(scope)
            for cdef in self.classes:
                if cdef.source_name != name or cdef.kind != scope.kind or cdef.mode != mode:
                    continue
                optional = mode == "attr" or (mode == "seq" and chain and cdef.chain)
                cols = _merge_columns(cdef.cols, scope.items, len(cdef.instances), optional)
                if cols is not None:
                    cdef.cols = cols
                    cdef.chain = cdef.chain and chain
                    cdef.instances.append(scope)
                    scope.cls = cdef
                    break
            else:
                block = scope.node.name if scope.kind == "block" else None
                cdef = _ClassDef(_camel(name), [scope], name, block, scope.kind, mode, chain, _columns(scope.items, 0))
                self.classes.append(cdef)
                scope.cls = cdef

    # -------------------------------------------------------------- the file

    def source(self) -> str:
        self.assign_classes()
        bodies = [self.emit_class(cdef) for cdef in self.classes]
        main = _ClassDef(self.class_name, [self.root], "", None, "root", _mode(self.root), _is_chain(self.root),
                         _columns(self.root.items, 0))
        bodies.append(self.emit_class(main, main=True))
        helpers = [_HELPERS[h].strip("\n") for h in ("StochasticDepth", "Split", "FlattenLinear") if h in self.helpers]
        code = helpers + bodies
        uses_torch = any(re.search(r"\btorch\.", part) for part in code)
        imports = ("import torch\n" if uses_torch else "") + "from torch import nn"
        return "\n\n\n".join([self.module_docstring() + "\n\n" + imports] + code) + "\n"

    def module_docstring(self) -> str:
        name = os.path.basename(self.main_path) if self.main_path else "the spec"
        settings = ", ".join(f"{key}={_value_text(value)}" for key, value in self.variables.items())
        lines = [f'"""{self.class_name}: PyTorch code generated by cnnspec from {name}'
                 + (f" with {settings}." if settings else "."), ""]
        comment = _leading_comment(self.net.source.text if self.net.source is not None else "")
        if comment:
            lines.extend(_wrap_text(comment, LINE_LIMIT))
            lines.append("")
        if self.classes:  # why there is more than one class
            names = [c.name for c in self.classes]
            listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
            several = len(names) > 1
            lines.extend(_wrap_text(
                f"{self.class_name} is the network; {listed} {'are its blocks' if several else 'is its block'}, "
                f"each written once as a class (as torchvision writes BasicBlock) however often the network "
                f"uses {'them' if several else 'it'}.", LINE_LIMIT))
            lines.append("")
        shape = ", ".join(str(n) for n in self.report.input_shape)
        out = ", ".join(str(n) for n in self.report.output_shape)
        lines.append(f"Input: a batch of shape (N, {shape}); output: (N, {out}).")
        lines.append(f"Parameters: {self.report.totals.params:,}; buffers: {self.report.totals.buffers:,}.")
        lines.append('"""')
        return "\n".join(lines)

    # -------------------------------------------------------------- one class

    def emit_class(self, cdef: _ClassDef, main: bool = False) -> str:
        ctx = _Context(self, cdef, literal=main)
        ctx.home = self.home(cdef)
        ctx.cur = ctx.initial_channels()
        init: list = []
        if cdef.mode == "attr":
            ctx.attributes = self.attribute_names(cdef.cols)
            self.init_columns(cdef.cols, ctx, init)
        else:
            entries = self.elements(cdef.cols, ctx, init, loops=cdef.mode == "seq")
            if cdef.mode == "seq":
                init.extend(self.build_sequential(entries, ctx, "super().__init__", ctx.local_name("layers")))
            else:
                init.append("super().__init__()")
                for _name, name, expr, comment in entries:
                    init.extend(_expression_lines(f'self.add_module("{name}", ', expr, ")", comment))
        cdef.out_channels = ctx.cur if not main else None
        forward: list = []
        if cdef.mode == "attr" or not cdef.chain:
            forward = self.forward_lines(cdef, ctx)
        elif main:
            forward = ["for layer in self:", INDENT + "x = layer(x)", "return x"]
        cdef.params = ctx.signature()
        base = "nn.Module" if cdef.mode == "attr" else "nn.Sequential"
        lines = [f"class {cdef.name}({base}):"]
        lines.extend(INDENT + line if line else "" for line in self.class_docstring(cdef, main))
        lines.append("")
        signature = ", ".join(["self"] + [p.name if not p.has_default else f"{p.name}={_literal(p.default)}"
                                          for p in cdef.params])
        lines.extend(INDENT + line for line in _wrap_def(f"def __init__({signature}):", LINE_LIMIT - 4))
        for param in cdef.params:
            if param.default_tree is not None:
                lines.append(f"{INDENT * 2}if {param.name} is None:")
                lines.extend(_indent([f"{param.name} = {_unparse(param.default_tree)}"], 3))
        if cdef.mode == "attr":
            lines.append(INDENT * 2 + "super().__init__()")
        lines.extend(_indent(init, 2))
        if forward:
            lines.append("")
            lines.append(INDENT + "def forward(self, x):")
            lines.extend(_indent(forward, 2))
        return "\n".join(lines)

    def home(self, cdef: _ClassDef) -> str:
        """The file a class comes from: comments give line numbers in it without naming it."""
        first = cdef.instances[0]
        if first.call is not None:
            return first.call.path
        span = getattr(first.node, "span", None) if first.kind != "root" else None
        return span.source.path if span is not None else self.main_path

    def class_docstring(self, cdef: _ClassDef, main: bool) -> list[str]:
        first = cdef.instances[0]
        if main:
            text = f"The network of {os.path.basename(self.main_path) or 'the spec'}"
            if cdef.mode == "seq":
                text += ": an nn.Sequential, layers numbered 0, 1, 2, … as in cnnspec"
            return _docstring(text + ".", LINE_LIMIT - 4)
        home = self.home(cdef)
        elsewhere = self.main_path and os.path.normpath(home) != os.path.normpath(self.main_path)
        if first.call is not None:
            text = f"{first.call.header}, line {first.call.line}"
        else:
            text = f"{_shorten(first.report.text, 60)}, line {first.report.line}"
        if not elsewhere:
            return _docstring(text + ".", LINE_LIMIT - 4)
        name = os.path.basename(home)
        lines = _docstring(f"{text} of {name}.", LINE_LIMIT - 4, close=False)
        return lines + ["", f"The line numbers in the comments are those of {name}.", '"""']

    def comment(self, item, home: str) -> str:
        """`line 4: CONV(6, k=5, p=2)` for a layer, a block call, a group or a labelled repeat."""
        if isinstance(item, _LayerItem):
            report, node = item.report, item.node
            text = report.text if not item.branches else node.text
            if node.label and not text.startswith(node.label + ":"):
                text = f"{node.label}: {text}"
            span = node.span
        elif isinstance(item, _ScopeItem):
            report = item.scope.report
            text = report.text
            span = getattr(item.scope.node, "span", None)
        else:
            report = item.report
            text = report.text
            span = item.node.span
        path = span.source.path if span is not None else self.main_path
        where = f"line {report.line}"
        if path and home and os.path.normpath(path) != os.path.normpath(home):
            where += f" of {os.path.basename(path)}"
        if not isinstance(item, _LayerItem):  # a block call or a group: its first words are enough
            text = _shorten(text, max(78 - len(where), 30))
        return f"{where}: {text}"

    # -------------------------------------------------------------- attributes (nn.Module classes)

    def attribute_names(self, cols) -> dict:
        """The attribute of each column: its label, or a name made from its kind for a parameter-free layer."""
        names: dict[int, str] = {}
        columns = [c for c in _walk_columns(cols) if c.kind in ("layer", "scope")]
        taken = {c.rep.name for c in columns if _attribute_safe(c.rep.name)}
        for col in columns:
            if _attribute_safe(col.rep.name):
                names[id(col)] = col.rep.name
        for col in columns:
            if id(col) in names or _inline(col):
                continue
            if col.kind == "layer":
                op = ops.get(col.rep.node.op)
                base = op.source.attribute or op.name
            else:
                base = "block"
            candidate, n = base, 1
            while candidate in taken or not _attribute_safe(candidate):
                n += 1
                candidate = f"{base}{n}"
            taken.add(candidate)
            names[id(col)] = candidate
        return names

    def init_columns(self, cols: list, ctx, out: list) -> None:
        """`self.NAME = MODULE` for every child, in order; optional parts under their condition."""
        for col in cols:
            if col.optional:
                self.optional(col, ctx, out, lambda body, c=col: self.init_column(c, ctx, body), attr=True)
            else:
                ctx.last_optional = None
                self.init_column(col, ctx, out)

    def init_column(self, col: _Col, ctx, out: list) -> None:
        if col.kind == "repeat":
            for one_pass in col.passes:
                self.init_columns(one_pass, ctx, out)
        elif col.kind == "merge":
            start, ends = ctx.cur, []
            for branch in col.branches:
                ctx.cur = start
                self.init_columns(branch, ctx, out)
                ends.append(ctx.cur)
            ctx.cur = ctx.after_merge(col.rep.node.op, ends)
        elif _inline(col):
            ctx.inline_args[id(col)] = ctx.layer_args(col.items)
        else:
            pre: list = []
            target = f"self.{ctx.attributes[id(col)]}"
            expr = self.module_expr(col, ctx, pre, target)
            comment = self.comment(col.rep, ctx.home)
            if pre:  # the statements that build it come first, under its comment
                out.append(("", comment))
                out.extend(pre)
                comment = None
            if expr != target:
                out.extend(_expression_lines(f"{target} = ", expr, "", comment))

    def optional(self, col: _Col, ctx, out: list, emit, attr: bool) -> None:
        """`if CONDITION:` and the part that only some calls have; in forward, the same test."""
        presence = [item is not None for item in col.items]
        condition = ctx.condition(col, presence)
        before, active = ctx.begin_optional(presence)
        body: list = []
        emit(body)
        ctx.end_optional(before, active, presence, condition)
        if attr:
            single = self.single_attribute(col, ctx)
            if single is not None:
                ctx.flags[id(col)] = f"self.{single} is not None"
                out.append(f"if {_unparse(condition)}:")
                out.extend(_nest(body))
                out.append("else:")
                out.append(f"{INDENT}self.{single} = None")
                return
            ctx.flags[id(col)] = self.flag(condition, ctx, out)
        out.append(f"if {_unparse(condition)}:")
        out.extend(_nest(body))

    def single_attribute(self, col: _Col, ctx) -> str | None:
        """The attribute an optional part consists of, when it is one module (`self.downsample`)."""
        inner = [c for c in _walk_columns([col]) if c.kind in ("layer", "scope", "merge")]
        if len(inner) == 1 and inner[0].kind in ("layer", "scope") and id(inner[0]) in ctx.attributes:
            name = ctx.attributes[id(inner[0])]
            if list(ctx.attributes.values()).count(name) == 1:
                return name
        return None

    def flag(self, condition, ctx, out: list) -> str:
        """The test forward makes for an optional part: the condition itself, on the values it reads, kept
        as attributes (`self.res = res`, then `if not self.res:`); a stored flag if they cannot be."""
        mapping = {}
        for name in sorted(_names(condition)):
            attribute = ctx.flag_names.get(name)
            if attribute is None:
                if not _attribute_safe(name) or name in ctx.attributes.values():
                    mapping = None
                    break
                ctx.flag_names[name] = name
                out.append(f"self.{name} = {name}")
                attribute = name
            mapping[name] = ast.Attribute(ast.Name("self", ast.Load()), attribute, ast.Load())
        if mapping is not None:
            return _unparse(_substitute(condition, mapping))
        code = _unparse(condition)
        if code not in ctx.flag_names:
            attribute, n = "option", 1
            while attribute in ctx.attributes.values() or attribute in ctx.flag_names.values():
                n += 1
                attribute = f"option{n}"
            ctx.flag_names[code] = attribute
            out.append(f"self.{attribute} = {code}")
        return f"self.{ctx.flag_names[code]}"

    # -------------------------------------------------------------- nn.Sequential elements

    def elements(self, cols: list, ctx, pre: list, loops: bool = True) -> list:
        """The children of a chain as entries ("module", name, expression, comment) or, for a part that
        only some calls have, ("optional", condition, entries)."""
        entries: list = []
        for col in cols:
            if col.optional:
                presence = [item is not None for item in col.items]
                condition = ctx.condition(col, presence)
                before, active = ctx.begin_optional(presence)
                inner = self.element(col, ctx, pre, loops)
                ctx.end_optional(before, active, presence, condition)
                entries.append(("optional", _unparse(condition), inner, None))
            else:
                ctx.last_optional = None
                entries.extend(self.element(col, ctx, pre, loops))
        return entries

    def element(self, col: _Col, ctx, pre: list, loops: bool) -> list:
        """The entries of one column (`loops`: a repeat may become a comprehension, in numbered children)."""
        if col.kind == "repeat":
            entries = []
            for one_pass in col.passes:
                entries.extend(self.elements(one_pass, ctx, pre, loops))
            looped = self.comprehension(col, entries, ctx) if loops else None
            return [looped] if looped is not None else entries
        if col.kind == "merge":
            entries, start, ends = [], ctx.cur, []
            for branch in col.branches:
                ctx.cur = start
                entries.extend(self.elements(branch, ctx, pre, loops))
                ends.append(ctx.cur)
            ctx.cur = ctx.after_merge(col.rep.node.op, ends)
            comment = self.comment(col.rep, ctx.home) + " (in forward)"
            return entries + [("module", col.rep.name, "nn.Identity()", comment)]
        return [("module", col.rep.name, self.module_expr(col, ctx, pre), self.comment(col.rep, ctx.home))]

    def comprehension(self, col: _Col, entries: list, ctx):
        """`*[DenseLayer(64 + 32 * i) for i in range(6)]` for a repeat of one block whose values are the same
        or grow by the same step from pass to pass; None when the passes differ otherwise."""
        if len(col.passes) < 3 or len(entries) != len(col.passes) or any(e[0] != "module" for e in entries):
            return None
        if not all(len(p) == 1 and p[0].kind == "scope" and p[0].rep.scope.cls is not None for p in col.passes):
            return None
        trees = [_parse_code(e[2]) for e in entries]
        if any(t is None for t in trees):
            return None
        shapes = {ast.dump(_blank_ints(t)) for t in trees}
        if len(shapes) != 1:
            return None
        columns = list(zip(*[[n for n in ast.walk(t) if _is_int_constant(n)] for t in trees]))
        variable = next(name for name in ("i", "j", "k", "n", "index") if name not in ctx.params)
        steps = []
        for numbers in columns:
            first, step = numbers[0].value, numbers[1].value - numbers[0].value
            if any(n.value != first + step * k for k, n in enumerate(numbers)):
                return None
            steps.append(step)
        template = trees[0]
        for node, step in zip([n for n in ast.walk(template) if _is_int_constant(n)], steps):
            if step:
                node.value = ast.BinOp(ast.Constant(node.value), ast.Add(), ast.BinOp(
                    ast.Constant(step), ast.Mult(), ast.Name(variable, ast.Load())))
        code = _unparse(_Inline().visit(template))
        if not any(steps):
            variable = "_"
        return ("module", entries[0][1], f"*[{code} for {variable} in range({len(col.passes)})]",
                self.comment(col.rep, ctx.home))

    def build_sequential(self, entries: list, ctx, opening: str, variable: str):
        """Lines that build an nn.Sequential of `entries`: `opening(a, b, c)` or, with optional parts, a
        list built under their conditions and then `opening(*variable)`."""
        if not any(e[0] == "optional" for e in entries):
            return _call_block(opening + "(", [(e[1], e[2], e[3]) for e in entries], ")")
        lines: list = []
        pending: list = []
        started = False

        def flush():
            nonlocal started
            if pending or not started:
                if not started:
                    lines.extend(_call_block(f"{variable} = [", pending, "]"))
                elif len(pending) == 1:
                    lines.extend(_expression_lines(f"{variable}.append(", pending[0][1], ")", pending[0][2]))
                else:
                    lines.extend(_call_block(f"{variable} += [", pending, "]"))
                started = True
            pending.clear()

        for entry in entries:
            if entry[0] == "optional":
                flush()
                body: list = []
                inner = [(e[1], e[2], e[3]) for e in entry[2]]
                if len(inner) == 1:
                    body.extend(_expression_lines(f"{variable}.append(", inner[0][1], ")", inner[0][2]))
                else:
                    body.extend(_call_block(f"{variable} += [", inner, "]"))
                lines.append(f"if {entry[1]}:")
                lines.extend(_nest(body))
            else:
                pending.append((entry[1], entry[2], entry[3]))
        flush()
        if opening is not None:
            lines.append(f"{opening}(*{variable})")
        return lines

    # -------------------------------------------------------------- module expressions

    def module_expr(self, col: _Col, ctx, pre: list, target: str | None = None):
        """The expression that builds one child (a layer, a class instance or an inline nn.Sequential); the
        statements it needs first go to `pre` (an nn.Sequential of named children is built in `target`)."""
        rep = col.rep
        if col.kind == "layer":
            return ctx.layer_code(col.items)
        scope = rep.scope
        if scope.cls is not None:
            return ctx.class_call(scope.cls, [i.scope if i is not None else None for i in col.items])
        inner_ctx = ctx.enter([i.scope if i is not None else None for i in col.items])
        entries = self.elements(col.inner, inner_ctx, pre, loops=_positional(scope))
        ctx.leave(inner_ctx)
        if _positional(scope):
            if not any(e[0] == "optional" for e in entries):
                return _Sequential([(e[1], e[2], e[3]) for e in entries])
            variable = ctx.local_name(rep.name if _attribute_safe(rep.name) else "layers")
            pre.extend(self.build_sequential(entries, ctx, None, variable))
            return f"nn.Sequential(*{variable})"
        variable = target or ctx.local_name(rep.name if _attribute_safe(rep.name) else "layers")
        pre.append(f"{variable} = nn.Sequential()")
        for _kind, name, expr, comment in entries:
            pre.extend(_expression_lines(f'{variable}.add_module("{name}", ', expr, ")", comment))
        return variable

    # -------------------------------------------------------------- forward

    def forward_lines(self, cdef: _ClassDef, ctx) -> list:
        fwd = _Forward(self, ctx, cdef)
        lines: list = []
        result = fwd.columns(cdef.cols, "x", lines, "x")
        lines.append(f"return {result}")
        return lines


def _is_int_constant(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _blank_ints(tree):
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if _is_int_constant(node):
            node.value = 0
    return tree


class _Inline(ast.NodeTransformer):
    """Unwraps the expressions `comprehension` put inside Constant nodes."""

    def visit_Constant(self, node):
        return node.value if isinstance(node.value, ast.AST) else node


def _walk_scope_items(items):
    """The scope items among `items`, inside repeats and branches too (not inside the scopes themselves)."""
    for item in items:
        if isinstance(item, _ScopeItem):
            yield item
        elif isinstance(item, _RepeatItem):
            for one_pass in item.passes:
                yield from _walk_scope_items(one_pass)
        elif isinstance(item, _LayerItem) and item.branches:
            for branch in item.branches:
                yield from _walk_scope_items(branch)


# ------------------------------------------------------------------------------ values in a class

_NO_CALL = object()  # an instance whose block call is unknown (a Network given, not a Program)
_INPUT_NAMES = {"inp", "inplanes", "in_planes", "in_channels", "in_ch", "in_c", "cin", "c_in", "ch_in", "input",
                "inputs", "input_channels", "in_features", "n_in", "nin"}


class _Context:
    """Writes the values of one class: each value as a spec expression in the class's parameters when that
    expression gives every instance's value, else a number, else a new constructor parameter."""

    def __init__(self, gen: _Generator, cdef: _ClassDef, literal: bool, parent: _Context | None = None,
                 frames: list | None = None, frame_texts: list | None = None):
        self.gen = gen
        self.cdef = cdef
        self.literal = literal
        self.parent = parent
        self.instances = cdef.instances
        self.cur = None  # the current number of channels, as an AST in the parameters
        self.home = ""
        if parent is None:
            self.params: dict[str, _Param] = {}
            self.spec_names: dict[str, str] = {}  # block parameter → Python name
            self.attributes: dict = {}
            self.inline_args: dict = {}  # the constructor arguments of each layer forward writes inline
            self.flags: dict = {}
            self.flag_names: dict = {}
            self.locals: set = set()
            self.active = [True] * len(self.instances)
            self.in_name = None
            self.last_optional = None
            self.frames = [[s.call if s.call is not None else _NO_CALL for s in self.instances]]
            self.frame_texts = [None]
            self._declare_parameters()
        else:
            for name in ("params", "spec_names", "attributes", "inline_args", "flags", "flag_names", "locals",
                         "active", "in_name", "home", "last_optional"):
                setattr(self, name, getattr(parent, name))
            self.frames = frames
            self.frame_texts = frame_texts

    # -------------------------------------------------------------- parameters

    def _declare_parameters(self) -> None:
        if self.literal:
            return
        shapes = [s.input_shape for s in self.instances]
        self.in_name = "in_channels" if len(shapes[0]) > 1 else "in_features"
        calls = [s.call for s in self.instances]
        if calls and all(c is not None for c in calls):
            for spec, default in calls[0].params:
                name = _identifier(spec)
                while name in self.params or name == self.in_name:
                    name += "_"
                param = _Param(name, [c.values.get(spec) for c in calls], spec=spec)
                tree = _parse_expression(default) if default is not None else None
                if tree is not None:
                    value = _evaluate(_substitute_globals(tree, calls[0], {p for p, _ in calls[0].params}), {})
                    if value is not _FAILED and _is_literal_value(value):
                        param.default, param.has_default = value, True
                self.params[name] = param
                self.spec_names[spec] = name
            for spec, default in calls[0].params:  # defaults that are expressions of other parameters
                param = self.params[self.spec_names[spec]]
                if default is not None and not param.has_default:
                    tree = self.translate(default)
                    if tree is not None and spec not in _names(tree) and self.check(tree, param.values):
                        param.default_tree, param.has_default = tree, True
        channels = [shape[0] for shape in shapes]
        for param in self.params.values():  # a block parameter that is the input channels (`inp`) names them
            if param.spec is not None and param.name.lower() in _INPUT_NAMES and param.default_tree is None \
                    and self.check(ast.Name(param.name, ast.Load()), channels):
                self.in_name = param.name
                param.channels = True
                return
        self.params[self.in_name] = _Param(self.in_name, channels, channels=True)

    def initial_channels(self):
        return None if self.literal else ast.Name(self.in_name, ast.Load())

    def signature(self) -> list[_Param]:
        if self.literal:
            return []
        changed = True
        while changed:  # a parameter used with an expression as default uses what that expression names
            changed = False
            for param in list(self.params.values()):
                if param.used and param.default_tree is not None:
                    for name in _names(param.default_tree):
                        if not self.params[name].used:
                            self.params[name].used = changed = True
        used = [p for p in self.params.values() if p.used]
        first = [p for p in used if p.name == self.in_name]
        spec = [p for p in used if p.spec is not None and p.name != self.in_name]
        others = [p for p in used if p.spec is None and p.name != self.in_name]
        # Python wants the parameters with a default last
        return (first + [p for p in spec if not p.has_default] + [p for p in others if not p.has_default]
                + [p for p in spec if p.has_default] + [p for p in others if p.has_default])

    def local_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.locals or name in self.params:
            n += 1
            name = f"{base}{n}"
        self.locals.add(name)
        return name

    # -------------------------------------------------------------- inline scopes (blocks inside the class)

    def enter(self, scopes: list) -> _Context:
        frames, texts = list(self.frames), list(self.frame_texts)
        first = next(s for s in scopes if s is not None)
        if first.kind == "block":
            frames.append([None if s is None else (s.call if s.call is not None else _NO_CALL) for s in scopes])
            same = all(s is None or s.node.text == first.node.text for s in scopes)
            texts.append(first.node.text if same else None)
        inner = _Context(self.gen, self.cdef, self.literal, parent=self, frames=frames, frame_texts=texts)
        inner.cur = self.cur
        return inner

    def leave(self, inner: _Context) -> None:
        self.cur = inner.cur

    # -------------------------------------------------------------- expressions

    def env(self, index: int) -> dict:
        return {p.name: p.values[index] for p in self.params.values()}

    def check(self, tree, values: list) -> bool:
        """Whether `tree` gives values[i] for every instance i (None: the instance has no such value)."""
        if tree is None:
            return False
        for index, value in enumerate(values):
            if value is None or not self.active[index]:
                continue
            got = _evaluate(tree, self.env(index))
            if got is _FAILED or not _same(got, value):
                return False
        return True

    def translate(self, text: str | None, depth: int | None = None):
        """The spec expression `text`, written in the block call `depth` (the innermost by default), as an
        AST in the class's parameters; None when a name in it cannot be written so."""
        tree = _parse_expression(text)
        if tree is None:
            return None
        depth = len(self.frames) - 1 if depth is None else depth
        mapping = {}
        for name in _names(tree):
            value = self.name_in_frame(name, depth, frozenset())
            if value is None:
                return None
            mapping[name] = value
        return _substitute(tree, mapping)

    def name_in_frame(self, name: str, depth: int, seen: frozenset):
        calls = [c for c in self.frames[depth] if c is not None]
        if not calls or any(c is _NO_CALL for c in calls) or (name, depth) in seen:
            return None
        seen = seen | {(name, depth)}
        declared = dict(calls[0].params)
        if name in declared:
            if depth == 0:  # a parameter of the class's own block
                python = self.spec_names.get(name)
                return ast.Name(python, ast.Load()) if python is not None else None
            # a parameter of a block written inline in the class: what its call gives, or its default
            text = self.frame_texts[depth]
            given = _call_arguments(text, [p for p, _ in calls[0].params]) if text else None
            if given is None:
                return None
            if name in given:
                return self.translate(given[name], depth - 1)
            default = _parse_expression(declared[name])
            if default is None:
                return None
            mapping = {}
            for inner in _names(default):
                value = self.name_in_frame(inner, depth, seen)
                if value is None:
                    return None
                mapping[inner] = value
            return _substitute(default, mapping)
        # a variable (`let`): its value, the same in every call
        values = [c.env.get(name, _FAILED) for c in calls]
        if all(v is not _FAILED and _is_literal_value(v) and _same(v, values[0]) for v in values):
            return _literal_ast(values[0])
        return None

    def value(self, slot: _Slot, texts: list) -> str | None:
        """The code of one argument, or None to leave it out (every value is torch's default)."""
        values = [v if self.active[i] else None for i, v in enumerate(slot.values)]
        present = [v for i, v in enumerate(slot.values) if self.active[i] and slot.values[i] is not None]
        if slot.has_default and all(_same(v, slot.default) or (v is None and slot.default is None)
                                    for v in present):
            return None
        if not present:
            present = [None]
        if self.literal:
            return _literal(present[0])
        candidates = []
        live = [t for i, t in enumerate(texts) if self.active[i] and slot.values[i] is not None]
        if live and all(t == live[0] for t in live) and live[0] is not None:
            candidates.append(self.translate(live[0]))
        if slot.channels:
            candidates.append(self.cur)
            candidates.append(ast.Name(self.in_name, ast.Load()))
        for tree in candidates:
            if self.check(tree, values):
                self.use(tree)
                return _unparse(tree)
        if all(_same(v, present[0]) for v in present):
            return _literal(present[0])
        return _unparse(self.new_param(slot.role or "value", values, slot.channels, slot))

    def use(self, tree) -> None:
        for name in _names(tree):
            if name in self.params:
                self.params[name].used = True

    def new_param(self, role: str, values: list, channels: bool, slot: _Slot | None = None):
        """A constructor parameter for a value that differs from call to call and that no expression gives."""
        for param in self.params.values():
            if param.spec is None and param.name != self.in_name and re.sub(r"\d+$", "", param.name) == role \
                    and self.check(ast.Name(param.name, ast.Load()), values):
                param.used = True
                return ast.Name(param.name, ast.Load())
        role = re.sub(r"(?<=[a-z_])\d+$", "", role) or role
        name, n = role, 1
        while name in self.params or name in self.spec_names.values():
            n += 1
            name = f"{role}{n}"
        known = next(v for v in values if v is not None)
        param = _Param(name, [v if v is not None else known for v in values], used=True, channels=channels)
        if slot is not None and slot.has_default and slot.default is not None:  # torch's default, as in torch
            param.default, param.has_default = slot.default, True
        self.params[name] = param
        return ast.Name(name, ast.Load())

    def condition(self, col: _Col, presence: list):
        """The condition under which the calls have an optional part: the repeat's count, if it says so."""
        rep = col.rep
        node = rep.node if isinstance(rep, _RepeatItem) else rep.scope.node
        tree = None if self.literal else self.translate(_count_text(node.text))
        expected = [p if a else None for p, a in zip(presence, self.active)]
        if tree is not None:
            ok = True
            for index, want in enumerate(expected):
                if want is None:
                    continue
                got = _evaluate(tree, self.env(index))
                if got is _FAILED or isinstance(got, float) or got not in (0, 1) or bool(got) != want:
                    ok = False
                    break
            if ok:
                self.use(tree)
                return tree
        label = node.label if node.label and _attribute_safe(node.label) else "option"
        return self.new_param(label, [bool(p) for p in presence], False)

    def begin_optional(self, presence: list):
        """Enter a part that only the calls in `presence` have; (channels before it, calls active before)."""
        before, active = self.cur, self.active
        last = self.last_optional
        if last is not None and all(not a or p != q for a, p, q in zip(active, presence, last[0])):
            self.cur = last[1]  # the other side of an either-or (`[A] * res -> [B] * (not res)`)
        self.active = [a and p for a, p in zip(active, presence)]
        return before, active

    def end_optional(self, before, active: list, presence: list, condition) -> None:
        after = self.cur
        self.active = active
        self.cur = self.after_optional(after, before, presence, condition)
        self.last_optional = (presence, before if self.last_optional is None else self.last_optional[1])

    def after_optional(self, after, before, presence: list, condition=None):
        """The channels after an optional part: an expression right both where it is and where it is not."""
        values = []
        for index, present in enumerate(presence):
            if not self.active[index]:
                values.append(None)
                continue
            tree = after if present else before
            value = _evaluate(tree, self.env(index)) if tree is not None else _FAILED
            if value is _FAILED:
                return None
            values.append(value)
        for tree in (after, before):
            if tree is not None and self.check(tree, values):
                return tree
        if after is not None and before is not None and condition is not None:
            tree = _if(condition, after, before)  # `c * t if t != 1 else in_channels`
            if self.check(tree, values):
                return tree
        return None

    def after_merge(self, op: str, ends: list):
        if op != "concat":
            return ends[0]
        if any(e is None for e in ends):
            return None
        total = ends[0]
        for end in ends[1:]:
            total = ast.BinOp(total, ast.Add(), end)
        return total

    # -------------------------------------------------------------- layers and calls

    def layer_args(self, column: list) -> list[str]:
        first = next(i for i in column if i is not None)
        args, codes = [], {}
        for slot in _layer_slots(column):
            texts = [_arg_text(item.node, slot.arg) if item is not None and slot.arg else None for item in column]
            code = self.value(slot, texts)
            if code is not None:
                args.append(code if slot.keyword is None else f"{slot.keyword}={code}")
                codes[slot.role] = code
        rule = ops.get(first.node.op).source.channels
        if rule is not None:
            after = rule(_Channels(self.cur), {role: _Channels(_parse_code(code)) for role, code in codes.items()},
                         first.report.input_shape)
            self.cur = after.tree if after is not None else None
        if not self.literal and not self.check(self.cur, [i.report.output_shape[0] if i is not None else None
                                                          for i in column]):
            self.cur = None
        return args

    def layer_code(self, column: list) -> str:
        """`nn.Conv2d(in_channels, planes, kernel_size=3, ...)` for one layer (column: it in every instance)."""
        first = next(i for i in column if i is not None)
        # In a class with attributes, forward flattens first (`x = torch.flatten(x, 1)`).
        cls = _module_class(first.node.op, first.report.input_shape, flattening=self.cdef.mode != "attr")
        if cls in _HELPERS:
            self.gen.helpers.add(cls)
        return f"{cls}({', '.join(self.layer_args(column))})"

    def class_call(self, cdef: _ClassDef, scopes: list) -> str:
        """`Basic(64, 128, s=2, proj=True)`: the class of a block call, with this call's values."""
        first = next(s for s in scopes if s is not None)
        spec_args = None
        if isinstance(first.node, Block) and first.call is not None \
                and all(s is None or s.node.text == first.node.text for s in scopes):
            spec_args = _call_arguments(first.node.text, [p for p, _ in first.call.params])
        args, trees, keywords = [], {}, False
        for param in cdef.params:
            values = [cdef.param_values(s)[param.name] if s is not None else None for s in scopes]
            text = spec_args.get(param.spec) if spec_args is not None and param.spec is not None else None
            slot = _Slot(None, values, channels=param.channels, default=param.default,
                         has_default=param.has_default and param.default_tree is None, role=param.name)
            if param.default_tree is not None and all(
                    s is None or not self.active[i]
                    or _same(_evaluate(param.default_tree, cdef.param_values(s)), cdef.param_values(s)[param.name])
                    for i, s in enumerate(scopes)):
                continue
            code = self.value(slot, [text] * len(values))
            keywords = keywords or param.has_default or any(isinstance(v, bool) for v in values)
            if code is None:
                continue
            trees[param.name] = _parse_code(code)
            args.append(f"{param.name}={code}" if keywords else code)
        # the channels after the call: the class's output expression, with this call's values
        self.cur = None
        if cdef.out_channels is not None and not self.literal:
            mapping = {p.name: trees.get(p.name, _literal_ast(p.default) if p.has_default else None)
                       for p in cdef.params}
            if all(mapping.get(n) is not None for n in _names(cdef.out_channels)):
                self.cur = _substitute(cdef.out_channels, mapping)
        return f"{cdef.name}({', '.join(args)})"


def _if(condition, then, otherwise):
    """`then if condition else otherwise`, without testing the same condition twice."""
    if isinstance(otherwise, ast.IfExp) and ast.dump(otherwise.test) == ast.dump(condition):
        otherwise = otherwise.orelse
    if isinstance(then, ast.IfExp) and ast.dump(then.test) == ast.dump(condition):
        then = then.body
    if ast.dump(then) == ast.dump(otherwise):
        return then
    return ast.IfExp(condition, then, otherwise)


def _substitute_globals(tree, call: BlockCall, exclude: set):
    """A default's expression with the variables (not the parameters) it names replaced by their values."""
    mapping = {}
    for name in _names(tree):
        value = call.env.get(name, _FAILED)
        if name in exclude or value is _FAILED or not _is_literal_value(value):
            return tree
        mapping[name] = _literal_ast(value)
    return _substitute(tree, mapping)


def _arg_text(node, name: str) -> str | None:
    """The expression the spec wrote for argument `name` of a layer, if it is written in the layer itself."""
    arg = node.arg(name)
    if arg is None or arg.span is None or node.span is None:
        return None
    span = arg.span
    if span.source is not node.span.source or not (node.span.start < span.start and span.end <= node.span.end):
        return None  # from a `default` statement, or an alias's preset (GAP's output 1)
    return re.sub(r"^\s*[A-Za-z_]\w*\s*=(?!=)", "", span.text).strip()


def _call_arguments(text: str, names: list) -> dict | None:
    """The argument texts of a block call `name(a, b, k=c)` (or `name`), by parameter name."""
    text = re.sub(r"^\s*[A-Za-z_]\w*\s*:\s*", "", text)
    match = re.match(r"^\s*[A-Za-z_]\w*\s*\((.*)\)\s*$", text, re.S)
    if match is None:
        return {} if re.match(r"^\s*[A-Za-z_]\w*\s*$", text) else None
    given = {}
    position = 0
    for part in _split_top_level(match.group(1)):
        keyed = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", part, re.S)
        if keyed:
            given[keyed.group(1)] = keyed.group(2).strip()
        else:
            if position >= len(names):
                return None
            given[names[position]] = part.strip()
            position += 1
    return given


def _parse_code(code: str):
    try:
        return ast.parse(code, mode="eval").body
    except SyntaxError:
        return None


# ------------------------------------------------------------------------------ forward


class _Forward:
    """The statements of `forward`: one call per child, branches into variables, joins written out."""

    def __init__(self, gen: _Generator, ctx: _Context, cdef: _ClassDef):
        self.gen = gen
        self.ctx = ctx
        self.names = {"x", "self"}
        self.positions = {id(item): i for i, (_, item) in enumerate(cdef.instances[0].children())}
        self.attr = cdef.mode == "attr"

    def fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self.names or not _attribute_safe(name):
            n += 1
            name = f"{base}{n}"
        self.names.add(name)
        return name

    def ref(self, col: _Col) -> str:
        if self.attr:
            return f"self.{self.ctx.attributes[id(col)]}"
        return f"self[{self.positions[id(col.rep)]}]"

    def columns(self, cols: list, var: str, lines: list, target: str) -> str:
        """Run the columns on `var`, leaving the result in `target`."""
        for col in cols:
            if col.optional:
                if var != target:
                    lines.append(f"{target} = {var}")
                    var = target
                body: list = []
                self.column(col, target, body, target)
                lines.append(f"if {self.ctx.flags[id(col)]}:")
                lines.extend(_nest(body))
            else:
                var = self.column(col, var, lines, target)
        if var != target:
            lines.append(f"{target} = {var}")
        return target

    def column(self, col: _Col, var: str, lines: list, target: str) -> str:
        rep = col.rep
        if col.kind == "repeat":
            for one_pass in col.passes:
                var = self.columns(one_pass, var, lines, target)
            return var
        if col.kind == "merge":
            return self.merge(col, var, lines, target)
        if _inline(col) and self.attr:
            expression = ops.get(rep.node.op).source.inline.format(*self.ctx.inline_args[id(col)], x=var)
            lines.append((f"{target} = {expression}", self.gen.comment(rep, self.ctx.home)))
            return target
        if col.kind == "layer" and _flattens_first(rep.node.op, rep.report.input_shape) and self.attr:
            lines.append(f"{target} = torch.flatten({var}, 1)")
            var = target
        if col.kind == "scope" and var == target and self.loop(col):
            lines.append(f"for block in {self.ref(col)}:")
            lines.append(f"{INDENT}{target} = block({target})")
            self.names.add("block")
            return target
        lines.append(f"{target} = {self.ref(col)}({var})")
        return target

    @staticmethod
    def loop(col: _Col) -> bool:
        """An nn.Sequential of several blocks (a stage of ResNet) runs as `for block in self.layer1`."""
        scope = col.rep.scope
        children = [item for _, item in scope.children()]
        return scope.cls is None and len(children) > 1 and all(
            isinstance(c, _ScopeItem) and c.scope.cls is not None and c.scope.cls is children[0].scope.cls
            for c in children)

    def merge(self, col: _Col, var: str, lines: list, target: str) -> str:
        op = col.rep.node.op
        ends = []
        for branch, name in zip(col.branches, self.branch_names(col)):
            if not branch:
                ends.append(var)
                continue
            out = self.fresh(name)
            self.columns(branch, var, lines, out)
            ends.append(out)
        if op == "add":
            expr = " + ".join(ends)
        elif op == "mul":
            expr = " * ".join(ends)
        else:
            expr = "torch.cat([" + ", ".join(ends) + "], dim=1)"
        lines.append((f"{target} = {expr}", self.gen.comment(col.rep, self.ctx.home)))
        return target

    def branch_names(self, col: _Col) -> list[str]:
        op, branches = col.rep.node.op, col.branches
        if len(branches) == 2 and any(not b for b in branches):
            return [{"mul": "scale"}.get(op, "out")] * 2
        if op == "add" and len(branches) == 2:
            return ["out", "identity"]
        names = []
        for i, branch in enumerate(branches):
            labels = [self.label(c) for c in branch]
            label = next((label for label in labels if label), None)
            names.append(label if label and label not in names else f"branch{i + 1}")
        return names

    @staticmethod
    def label(col: _Col) -> str | None:
        rep = col.rep
        if isinstance(rep, _LayerItem):
            return rep.node.label
        if isinstance(rep, _ScopeItem):
            return rep.scope.node.label
        return None


# ------------------------------------------------------------------------------ formatting


class _Sequential(str):
    """An `nn.Sequential(...)` expression, kept as its elements so that it can be laid out with comments."""

    def __new__(cls, elements):
        text = "nn.Sequential(" + ", ".join(expr for _, expr, _ in elements) + ")"
        obj = super().__new__(cls, text)
        obj.elements = elements
        return obj


def _expression_lines(prefix: str, expr, suffix: str, comment: str | None) -> list:
    """Lines (text, comment) for `prefix + expr + suffix`; an nn.Sequential gets one element per line."""
    if isinstance(expr, _Sequential):
        lines: list = [("", comment)] if comment else []
        lines.extend(_call_block(prefix + "nn.Sequential(", expr.elements, ")" + suffix))
        return lines
    return [(prefix + str(expr) + suffix, comment)]


def _call_block(opening: str, elements: list, closing: str) -> list:
    """`opening` then one element per line (indented, with its comment), then `closing`."""
    if not elements:
        return [(opening + closing, None)]
    lines: list = [(opening, None)]
    for _name, expr, comment in elements:
        lines.extend(_nest(_expression_lines("", expr, ",", comment)))
    lines.append((closing, None))
    return lines


def _nest(lines: list) -> list:
    """The lines one level deeper."""
    return [INDENT + entry if isinstance(entry, str) else (INDENT + entry[0], entry[1]) for entry in lines]


def _indent(lines: list, level: int) -> list[str]:
    """Render lines (text or (text, comment)) at an indentation level, within the line limit: a comment
    goes after its code when it fits, else on the line above."""
    out: list[str] = []
    pad = INDENT * level
    for entry in lines:
        text, comment = (entry, None) if isinstance(entry, str) else entry
        if not text.strip():
            if comment:
                out.extend(_comment_lines(pad + text, comment))
            else:
                out.append("")
            continue
        line = pad + text
        if comment:
            trailing = f"{line}  # {comment}"
            if len(trailing) <= LINE_LIMIT:
                out.append(trailing)
                continue
            out.extend(_comment_lines(pad + text[: len(text) - len(text.lstrip(" "))], comment))
        out.extend(_wrap_code(line))
    return out


def _comment_lines(pad: str, comment: str) -> list[str]:
    width = LINE_LIMIT - len(pad) - 2
    return [f"{pad}# {chunk}" if i == 0 else f"{pad}#   {chunk}"
            for i, chunk in enumerate(_wrap_text(comment, width, later_width=width - 2))]


def _wrap_text(text: str, width: int, later_width: int | None = None) -> list[str]:
    later_width = later_width or width
    words = text.split(" ")
    lines, current = [], ""
    for word in words:
        limit = width if not lines else later_width
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def _wrap_code(line: str) -> list[str]:
    """A line of code over the limit, broken inside its outermost call's parentheses (hanging indent)."""
    if len(line) <= LINE_LIMIT:
        return [line]
    pad = line[: len(line) - len(line.lstrip(" "))]
    open_at = _first_open_paren(line)
    if open_at is None or not line.rstrip().endswith((")", "),", "))")):
        return [line]
    close_at = _matching_paren(line, open_at)
    if close_at is None:
        return [line]
    head, inner, tail = line[: open_at + 1], line[open_at + 1: close_at], line[close_at:]
    args = _split_top_level(inner)
    inner_pad = pad + INDENT
    lines = [head]
    current = ""

    def flush(text):
        if len(inner_pad + text) <= LINE_LIMIT:
            lines.append(inner_pad + text)
        elif text.rstrip(",").endswith(")") and _first_open_paren(text) is not None:
            lines.extend(_wrap_code(inner_pad + text))
        else:  # one long expression: in parentheses, broken before its `if` and `else`
            parts = re.split(r" (?=(?:if|else) )", text.rstrip(","))
            lines.append(inner_pad + "(")
            lines.extend(inner_pad + INDENT + part for part in parts)
            lines.append(inner_pad + ")" + ("," if text.endswith(",") else ""))

    for i, arg in enumerate(args):
        piece = arg.strip() + ("," if i < len(args) - 1 else "")
        if current and len(inner_pad) + len(current) + 1 + len(piece) > LINE_LIMIT:
            flush(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        flush(current)
    lines.append(pad + tail.lstrip())
    return lines


def _first_open_paren(line: str) -> int | None:
    in_string = None
    for i, char in enumerate(line):
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char == "(":
            return i
    return None


def _matching_paren(line: str, start: int) -> int | None:
    depth, in_string = 0, None
    for i in range(start, len(line)):
        char = line[i]
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _split_top_level(text: str) -> list[str]:
    parts, depth, current, in_string = [], 0, "", None
    for char in text:
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "'\"":
            in_string = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0 and not in_string:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def _wrap_def(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    open_at = line.index("(")
    args = _split_top_level(line[open_at + 1: line.rindex(")")])
    out = [line[: open_at + 1]]
    current = ""
    for i, arg in enumerate(args):
        piece = arg.strip() + ","
        if current and len(INDENT * 2) + len(current) + 1 + len(piece) > width:
            out.append(INDENT * 2 + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    out.append(INDENT * 2 + current.rstrip(","))
    out.append("):")
    return out


def _docstring(text: str, width: int, close: bool = True) -> list[str]:
    one = f'"""{text}"""'
    if len(one) <= width and close:
        return [one]
    lines = _wrap_text(text, width - 3)
    lines[0] = '"""' + lines[0]
    if close:
        lines.append('"""')
    return lines


def _shorten(text: str, width: int) -> str:
    """A long group's or call's text cut short: `features: [conv0: CONV(…) -> …]`, `bottleneck(planes, …)`."""
    if len(text) <= width:
        return text
    cut = text.rfind(" -> ", 0, width)
    if cut > 0:
        return text[:cut] + " -> …" + ("]" if text.endswith("]") else "")
    open_at = text.find("(")
    close_at = _matching_paren(text, open_at) if open_at >= 0 else None
    if close_at is not None:
        rest = text[close_at + 1:]
        cut = text.rfind(", ", 0, max(width - len(rest) - 4, open_at + 1))
        if cut > open_at:
            return text[:cut] + ", …)" + rest
    return text[: width - 1] + "…"


def _leading_comment(text: str) -> str:
    """The comment lines at the top of the spec, joined (the description its author wrote)."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped:
            break
        elif lines:
            break
    return " ".join(line for line in lines if line)
