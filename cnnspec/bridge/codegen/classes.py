"""Which scopes become classes of their own, and which calls share one.

A block becomes a class when one of its calls holds layers or named outputs (`@label`) of its own; a group
or labelled repeat when it has branches or named outputs (an nn.Sequential cannot run them). Blocks made
only of blocks are written inline, as nn.Sequential containers of their blocks. Calls of one block share a
class when their columns align.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .columns import columns, merge_columns
from .names import camel
from .tree import Scope, direct_layers, holding, is_chain, refs, walk_scope_items


@dataclass(eq=False)
class ClassDef:
    name: str
    instances: list  # Scope
    source_name: str  # the block's name, or the label of a group or repeat written as a class
    kind: str
    mode: str  # how it holds its children: tree.holding
    chain: bool
    cols: list = field(default_factory=list)
    params: list = field(default_factory=list)  # values.Param, in signature order, once written
    out_channels: object = None  # the output channels as an AST in the parameters' names, if known

    def param_values(self, instance) -> dict:
        index = next(i for i, s in enumerate(self.instances) if s is instance)
        return {p.name: p.values[index] for p in self.params}


def main_class(root: Scope, name: str) -> ClassDef:
    """The network's own class."""
    return ClassDef(name, [root], "", "root", holding(root), is_chain(root), columns(root.items, 0))


def assign_classes(root: Scope, taken: set[str]) -> list[ClassDef]:
    """The classes of the network's scopes, inner ones first, named apart from each other and from `taken`."""
    class_blocks: set[str] = set()
    _find_class_blocks(root.items, class_blocks)
    classes: list[ClassDef] = []
    _assign(root.items, class_blocks, classes)
    classes = _inner_first(classes)
    taken = set(taken)
    counts: dict[str, int] = {}
    for cdef in classes:
        base = cdef.name
        counts[base] = counts.get(base, 0) + 1
        name = base if counts[base] == 1 else f"{base}{counts[base]}"
        while name in taken:
            counts[base] += 1
            name = f"{base}{counts[base]}"
        taken.add(name)
        cdef.name = name
    return classes


def _inner_first(classes: list[ClassDef]) -> list[ClassDef]:
    """The classes ordered so that each comes after every class its instances hold: a class's call is
    written with that class's parameters, known once it is written. A class first met in a later call of
    another (`conv_bn` where a count of 0 left it out of the first call) would otherwise come after it."""
    ordered: list[ClassDef] = []
    placed: set[int] = set()

    def place(cdef: ClassDef) -> None:
        if id(cdef) in placed:
            return
        placed.add(id(cdef))
        for inner in _held_classes(cdef):
            place(inner)
        ordered.append(cdef)

    for cdef in classes:
        place(cdef)
    return ordered


def _held_classes(cdef: ClassDef) -> list[ClassDef]:
    """The classes of the scopes an instance of `cdef` holds, itself or in the scopes written inline in it."""
    held: list[ClassDef] = []
    pending = [item.scope for instance in cdef.instances for item in walk_scope_items(instance.items)]
    while pending:
        scope = pending.pop(0)
        if scope.cls is None:
            pending.extend(item.scope for item in walk_scope_items(scope.items))
        elif scope.cls is not cdef and all(scope.cls is not c for c in held):
            held.append(scope.cls)
    return held


def _find_class_blocks(items, class_blocks: set[str]) -> None:
    for item in walk_scope_items(items):
        scope = item.scope
        if scope.kind == "block" and (direct_layers(scope.items) or any(refs(scope.items))):
            class_blocks.add(scope.node.name)
        _find_class_blocks(scope.items, class_blocks)


def _assign(items, class_blocks: set[str], classes: list[ClassDef]) -> None:
    for item in walk_scope_items(items):
        scope = item.scope
        _assign(scope.items, class_blocks, classes)  # inner classes first: a class names the classes it holds
        if scope.kind == "block":
            if scope.node.name not in class_blocks:
                continue
        elif is_chain(scope):
            continue
        name = scope.node.name if scope.kind == "block" else scope.name
        mode, chain = holding(scope), is_chain(scope)
        for cdef in classes:
            if cdef.source_name != name or cdef.kind != scope.kind or cdef.mode != mode:
                continue
            optional = mode == "attr" or (mode == "seq" and chain and cdef.chain)
            cols = merge_columns(cdef.cols, scope.items, len(cdef.instances), optional)
            if cols is not None:
                cdef.cols = cols
                cdef.chain = cdef.chain and chain
                cdef.instances.append(scope)
                scope.cls = cdef
                break
        else:
            cdef = ClassDef(camel(name), [scope], name, scope.kind, mode, chain, columns(scope.items, 0))
            classes.append(cdef)
            scope.cls = cdef
