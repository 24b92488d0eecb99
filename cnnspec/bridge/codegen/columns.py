"""The calls of a block that share a class, aligned item by item into columns.

A column holds the same layer (or merge, scope, repeat) in every call, or None in the calls that lack it —
a part that a repeat count of 0 leaves out (`downsample: [...] * proj`), which the class writes under an
`if`. Values (channels, strides, …) may differ from call to call: they become the class's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .layers import module_class
from .tree import LayerItem, RefItem, RepeatItem, ScopeItem, positional


@dataclass(eq=False)
class Col:
    kind: str  # "layer" | "merge" | "scope" | "repeat" | "ref" (`@label`, which holds no module)
    items: list  # per instance: the item, or None where the instance has no such part
    branches: list = field(default_factory=list)  # merge: a column list per branch
    passes: list = field(default_factory=list)  # repeat: a column list per pass
    inner: list = field(default_factory=list)  # a scope written inline: its columns
    optional: bool = False

    @property
    def rep(self):
        return next(item for item in self.items if item is not None)


def column_label(col: Col) -> str | None:
    """The label of the column's item (a layer's, a merge's, a scope's), which `@label` may read."""
    rep = col.rep
    if isinstance(rep, ScopeItem):
        return rep.scope.node.label
    if isinstance(rep, LayerItem):
        return rep.node.label
    return None


def columns(items, before: int) -> list[Col]:
    return [column(item, before) for item in items]


def column(item, before: int) -> Col:
    missing = [None] * before
    if isinstance(item, RepeatItem):
        return Col("repeat", missing + [item], passes=[columns(p, before) for p in item.passes])
    if isinstance(item, LayerItem) and item.branches:
        return Col("merge", missing + [item], branches=[columns(b, before) for b in item.branches])
    if isinstance(item, LayerItem):
        return Col("layer", missing + [item])
    if isinstance(item, RefItem):
        return Col("ref", missing + [item])
    inner = columns(item.scope.items, before) if item.scope.cls is None else []
    return Col("scope", missing + [item], inner=inner)


def padded(col: Col) -> Col:
    """The column with one more instance that lacks it."""
    return Col(col.kind, col.items + [None], [[padded(c) for c in b] for b in col.branches],
               [[padded(c) for c in p] for p in col.passes], [padded(c) for c in col.inner], col.optional)


def optional_item(item) -> bool:
    """A part that a repeat count of 1 put there, so that a count of 0 in another call may leave it out."""
    if isinstance(item, RepeatItem):
        return item.node.count == 1
    return isinstance(item, ScopeItem) and item.scope.kind == "repeat" and item.scope.node.count == 1


def optional_col(col: Col) -> bool:
    return col.optional or all(optional_item(item) for item in col.items if item is not None)


def merge_columns(cols: list, items: list, n: int, optional: bool):
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
            if i < a and best[i + 1][j] != impossible and optional_col(cols[i]):
                options.append(best[i + 1][j])
            if j < b and best[i][j + 1] != impossible and optional_item(items[j]):
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
        elif i < a and best[i + 1][j] == best[i][j] and optional_col(cols[i]) and not (
                j < b and best[i][j + 1] == best[i][j] and optional_item(items[j])
                and _source_position(items[j]) < _source_position(cols[i].rep)):
            col = padded(cols[i])
            col.optional = True
            out.append(col)
            i += 1
        else:
            col = column(items[j], n)
            col.optional = True
            out.append(col)
            j += 1
    return out


def _source_position(item) -> int:
    node = item.node if not isinstance(item, ScopeItem) else item.scope.node
    return node.span.start if getattr(node, "span", None) is not None else 0


def _extend(col: Col, item, n: int, optional: bool):
    """The column with `item` added as instance n, or None when the item is not the same part."""
    rep = col.rep
    if col.kind == "ref":
        if not isinstance(item, RefItem) or item.label != rep.label:
            return None
        return Col("ref", col.items + [item], optional=col.optional)
    if col.kind == "layer":
        if not isinstance(item, LayerItem) or item.branches or item.node.op != rep.node.op \
                or item.node.label != rep.node.label \
                or module_class(item.node.op, item.report.input_shape) \
                != module_class(rep.node.op, rep.report.input_shape):
            return None
        return Col("layer", col.items + [item], optional=col.optional)
    if col.kind == "merge":
        if not isinstance(item, LayerItem) or not item.branches or item.node.op != rep.node.op \
                or item.node.label != rep.node.label or len(item.branches) != len(rep.branches):
            return None
        branches = [merge_columns(c, i, n, optional) for c, i in zip(col.branches, item.branches)]
        if any(b is None for b in branches):
            return None
        return Col("merge", col.items + [item], branches=branches, optional=col.optional)
    if col.kind == "repeat":
        if not isinstance(item, RepeatItem) or item.node.count != rep.node.count:
            return None
        passes = [merge_columns(c, i, n, optional) for c, i in zip(col.passes, item.passes)]
        if any(p is None for p in passes):
            return None
        return Col("repeat", col.items + [item], passes=passes, optional=col.optional)
    if not isinstance(item, ScopeItem) or item.scope.kind != rep.scope.kind \
            or item.scope.node.label != rep.scope.node.label or item.scope.cls is not rep.scope.cls:
        return None
    if item.scope.kind == "block" and item.scope.node.name != rep.scope.node.name:
        return None
    inner = []
    if item.scope.cls is None:
        allowed = positional(item.scope) and positional(rep.scope)
        inner = merge_columns(col.inner, item.scope.items, n, allowed)
        if inner is None:
            return None
    return Col("scope", col.items + [item], inner=inner, optional=col.optional)


def walk_columns(cols):
    """Every column of a class's own modules: inside branches and repeats, not inside other scopes."""
    for col in cols:
        yield col
        for branch in col.branches:
            yield from walk_columns(branch)
        for one_pass in col.passes:
            yield from walk_columns(one_pass)
