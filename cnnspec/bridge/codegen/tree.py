"""The module tree `lower` builds, with the IR structure kept, made from the IR and the Report.

A scope (the network, a block call, a labelled group or repeat) holds items; an unlabelled repeat keeps its
passes (their modules are children of the scope); a merge keeps its branches (their modules too); `@label`
is an item of its own, which holds no module. Child names are the Report's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...lang.ir import Block, BlockCall, Group, Layer, Merge, Network, Ref, Repeat
from .names import attribute_safe

if TYPE_CHECKING:
    from .classes import ClassDef


@dataclass(frozen=True, eq=False)
class LayerItem:
    name: str
    node: Layer | Merge
    report: object
    branches: list = field(default_factory=list)  # merges: a list of item lists

    @property
    def stateful(self) -> bool:
        return self.report.params + self.report.buffers > 0


@dataclass(frozen=True, eq=False)
class ScopeItem:
    name: str
    scope: Scope

    @property
    def stateful(self) -> bool:
        return self.scope.report.params + self.scope.report.buffers > 0


@dataclass(frozen=True, eq=False)
class RepeatItem:
    node: Repeat
    report: object
    passes: list  # a list of item lists


@dataclass(frozen=True, eq=False)
class RefItem:
    """`@label`: the chain goes on from the output of the item labelled so earlier in the scope (`@input`: the
    scope's input)."""

    node: Ref

    @property
    def label(self) -> str:
        return self.node.label


@dataclass(eq=False)
class Scope:
    kind: str  # "root" | "block" | "group" | "repeat"
    node: object
    report: object
    items: list
    input_shape: tuple
    output_shape: tuple
    call: BlockCall | None = None  # a block call's parameters, when they are known
    cls: ClassDef | None = None  # the class it is an instance of, None when written inline

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
        if isinstance(item, RepeatItem):
            for one_pass in item.passes:
                _collect_children(one_pass, out)
        elif isinstance(item, LayerItem) and item.branches:
            for branch in item.branches:
                _collect_children(branch, out)
            out.append((item.name, item))
        elif not isinstance(item, RefItem):
            out.append((item.name, item))


class ModelBuilder:
    """Walks the IR in the order `lower` and the analysis do, taking each layer's and scope's report in turn."""

    def __init__(self, report, with_calls: bool):
        self.layers = iter(report.layers)
        self.scopes = iter(report.scopes)
        self.with_calls = with_calls

    def network(self, net: Network) -> Scope:
        shape = tuple(net.input.arg("shape").value)
        items, out = self.items(net.body, shape)
        return Scope("root", net, None, items, shape, out)

    def items(self, nodes, shape, named: dict | None = None):
        """The items of `nodes` and the shape they end with. `named`: the output shape of each label of the
        scope so far, for `@label` (a repeat's passes and a merge's branches share their scope's)."""
        named = {} if named is None else named
        named.setdefault("input", shape)  # `@input`: what the scope takes
        items = []
        for node in nodes:
            if isinstance(node, Layer):
                report = next(self.layers)
                items.append(LayerItem(_last(report.path), node, report))
                shape = report.output_shape
            elif isinstance(node, Repeat):
                scope_report = next(self.scopes)
                start = shape
                passes = []
                inner_named = {} if node.label else named  # a labelled repeat is a scope of its own
                for body in node.passes:
                    one_pass, shape = self.items(body, shape, inner_named)
                    passes.append(one_pass)
                repeat = RepeatItem(node, scope_report, passes)
                if node.label:
                    scope = Scope("repeat", node, scope_report, [repeat], start, shape)
                    items.append(ScopeItem(_last(scope_report.path), scope))
                else:
                    items.append(repeat)
            elif isinstance(node, (Block, Group)):
                scope_report = next(self.scopes)
                inner, out = self.items(node.body, shape)
                kind = "block" if isinstance(node, Block) else "group"
                call = node.call if kind == "block" and self.with_calls else None
                scope = Scope(kind, node, scope_report, inner, shape, out, call)
                items.append(ScopeItem(_last(scope_report.path), scope))
                shape = out
            elif isinstance(node, Merge):
                branches = [self.items(branch, shape, named)[0] for branch in node.branches]
                report = next(self.layers)
                items.append(LayerItem(_last(report.path), node, report, branches))
                shape = report.output_shape
            elif isinstance(node, Ref):
                items.append(RefItem(node))
                shape = named[node.label]  # the analysis has checked it is there
                continue
            else:
                raise AssertionError(f"unknown IR node {node!r}")
            if node.label:
                named[node.label] = shape
        return items, shape


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def walk_scope_items(items):
    """The scope items among `items`, inside repeats and branches too (not inside the scopes themselves)."""
    for item in items:
        if isinstance(item, ScopeItem):
            yield item
        elif isinstance(item, RepeatItem):
            for one_pass in item.passes:
                yield from walk_scope_items(one_pass)
        elif isinstance(item, LayerItem) and item.branches:
            for branch in item.branches:
                yield from walk_scope_items(branch)


def refs(items):
    """The `@label` items among `items`, inside repeats and branches too (not inside scopes)."""
    for item in items:
        if isinstance(item, RefItem):
            yield item
        elif isinstance(item, RepeatItem):
            for one_pass in item.passes:
                yield from refs(one_pass)
        elif isinstance(item, LayerItem) and item.branches:
            for branch in item.branches:
                yield from refs(branch)


def direct_layers(items) -> bool:
    """Whether the items hold layers or merges of their own (not only inside other blocks or groups)."""
    for item in items:
        if isinstance(item, LayerItem):
            return True
        if isinstance(item, RepeatItem) and any(direct_layers(p) for p in item.passes):
            return True
    return False


def is_chain(scope: Scope) -> bool:
    """Whether the scope's modules run one after the other (no branches or named outputs of its own)."""
    return not any(isinstance(item, LayerItem) and item.branches for _, item in scope.children()) \
        and not any(refs(scope.items))


def positional(scope: Scope) -> bool:
    """Whether the scope's children are numbered 0, 1, 2, … (as in an nn.Sequential)."""
    return all(name == str(i) for i, (name, _) in enumerate(scope.children()))


def holding(scope: Scope) -> str:
    """How a class holds its children: "attr" (`self.conv1 = …`: every child with parameters is labelled),
    "seq" (an nn.Sequential of children 0, 1, 2, …), "named" (an nn.Sequential of named children)."""
    children = scope.children()
    if all(attribute_safe(name) for name, item in children if item.stateful):
        return "attr"
    return "seq" if positional(scope) else "named"
