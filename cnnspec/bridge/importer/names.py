"""The chain with labels and groups that follow the module paths of the original (`from_torch(…, names=True)`),
so that the lowered spec holds every parameter and buffer at the path the original does and loads its state dict.

A module with weights is labelled by its name in its parent (`conv1: CONV(…)`, a child of an nn.Sequential by its
number: `0: CONV(…)`), a module whose forward runs several layers is a group under its name (`layer1: […]`), and
a merge's branches stay in the scope of the module that joins them. What cannot be mirrored (a module's calls that
are not one stretch of the chain, a module called twice, a parameter of a module that is no layer) raises
Unmirrorable, whose reason the importer writes as a note above the spec it writes without names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chain import Labelled, Layer, Merge, Ref
from .trace import Trace, node_args

_NOT_LABELS = frozenset(("input",))  # `@input` reads a scope's input (keywords are labels: `block: [...]`)
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]*")


class Unmirrorable(Exception):
    """Why the module paths of a model cannot be written as labels and groups."""


@dataclass(frozen=True, slots=True)
class _Place:
    scope: tuple[str, ...]  # the module path of the scope the item goes in
    name: str | None  # its name there, for a module of its own with weights (None: unlabelled)


def mirror(trace: Trace, nodes: dict, items: tuple) -> tuple:
    """`items` (the chain of `chain`) regrouped and labelled after the module paths of `trace.module`."""
    shared = [n for n, flow in nodes.items() if flow.label]
    if shared:
        raise Unmirrorable(f"{trace.describe_short(shared[0])} is called more than once with its weights")
    return _Mirror(trace).nest(items, ())


class _Mirror:
    def __init__(self, trace: Trace):
        from ..modules import Scope

        self.trace, self.module = trace, trace.module
        self.places: dict = {}
        self.final: dict[str, tuple] = {"input": ("input", ())}  # each graph label (`x3`) → (label, scope) it is now
        self.probe = Scope()
        self.labelled: set = set()  # the modules labelled so far

    # --- where each fx node goes

    def place(self, node) -> _Place:
        if node not in self.places:
            self.places[node] = self._place(node)
        return self.places[node]

    def _place(self, node) -> _Place:
        if node.op == "call_module":
            sub = self.module.get_submodule(node.target)
            parts = tuple(str(node.target).split("."))
            stateful = any(True for _ in sub.parameters()) or any(True for _ in sub.buffers())
            # a numbered child is labelled by its number even without weights, so that no unlabelled item takes
            # the number a later child with weights is labelled by (an nn.Identity written as no layer)
            return _Place(parts[:-1], parts[-1] if stateful or parts[-1].isdigit() else None)
        owners = {str(a.target).rpartition(".")[0] for a in _attrs(node)}
        stack = [path for path, _ in node.meta.get("nn_module_stack", {}).values()]
        caller = tuple(stack[-1].split(".")) if stack and stack[-1] else ()
        if not owners:
            return _Place(caller, None)
        if len(owners) > 1:
            raise Unmirrorable(f"{self.trace.describe_short(node)} reads the weights of several modules "
                               f"({', '.join(sorted(owners))})")
        owner = owners.pop()
        parts = tuple(owner.split(".")) if owner else ()
        # a module of no children that computes with its own weights (timm's BatchNormAct2d) is that layer; a
        # container's own parameter (ConvNeXt's `layer_scale`) is held where no layer module of cnnspec puts it
        if not parts or any(True for _ in self.module.get_submodule(owner).children()):
            raise Unmirrorable(f"{self.trace.describe_short(node)} computes with a parameter that "
                               f"`{owner or self.trace.label}` holds itself, not a layer module of its own")
        return _Place(parts[:-1], parts[-1])

    def scope(self, item, prefix: tuple, entry) -> tuple:
        if isinstance(item, Ref):  # written where the value it reads is named (`@input` for the scope's input)
            target = self.final.get(item.label)
            return prefix if target is None or target == entry else target[1]
        if isinstance(item, Labelled):
            return self.scope(item.items[0], prefix, entry)
        return self.place(item.node).scope

    # --- the chain

    def nest(self, items, prefix: tuple, entry=("input", ())) -> tuple:
        """The items of the scope `prefix`, whose input is the value named `entry` (label, scope) if it has one."""
        out: list = []
        done: set = set()
        i, n = 0, len(items)
        while i < n:
            scope = self.scope(items[i], prefix, entry)
            if scope[:len(prefix)] != prefix:
                raise Unmirrorable(f"the layers of `{'.'.join(scope) or self.trace.label}` are not one stretch "
                                   f"inside `{'.'.join(prefix) or self.trace.label}`")
            if len(scope) == len(prefix):
                out.append(self.item(items[i], prefix, entry, items[i + 1] if i + 1 < n else None))
                i += 1
                continue
            child = scope[len(prefix)]
            inner = (*prefix, child)
            before = out[-1] if out else None
            child_entry = ((before.label, prefix) if isinstance(before, Labelled) else
                           self.final.get(before.label) if isinstance(before, Ref) else None) if out else entry
            if isinstance(before, Ref) and before.label == "input":
                child_entry = entry
            j = i + 1
            while j < n and (self.scope(items[j], prefix, entry)[:len(prefix) + 1] == inner or isinstance(
                    items[j], Ref) and child_entry not in (None, entry) and self.final.get(items[j].label) == child_entry):
                j += 1
            if child in done:
                raise Unmirrorable(f"the calls of `{'.'.join(inner)}` are not one stretch of the network (its "
                                   f"layers come in two places)")
            done.add(child)
            label = self.label(child, prefix)
            body = self.nest(items[i:j], inner, child_entry)
            if body and isinstance(body[-1], Labelled):  # what reads the group's last output reads the group
                for x, target in self.final.items():
                    if target == (body[-1].label, inner):
                        self.final[x] = (label, prefix)
            out.append(Labelled(label, body, group=True))
            i = j
        taken = [it.label for it in out if isinstance(it, Labelled)]
        if len(set(taken)) != len(taken):
            raise Unmirrorable(f"a label is used twice in `{'.'.join(prefix) or self.trace.label}`")
        return tuple(out)

    def item(self, item, prefix: tuple, entry, following):
        if isinstance(item, Ref):
            target = self.final.get(item.label)
            if target is None or target == entry:
                return Ref("input")
            if target[0].isdigit():
                raise Unmirrorable(f"an output read again is the module `{'.'.join((*target[1], target[0]))}`, "
                                   f"whose number cannot be read by `@`")
            return Ref(target[0])
        if isinstance(item, Layer):
            name = self.place(item.node).name
            if name is None or item.node.op == "call_module" and item.node.target in self.labelled:
                return item  # (a module without weights called twice: labelled once)
            if item.node.op == "call_module":
                self.labelled.add(item.node.target)
            if isinstance(following, Layer) and following.node is item.node:
                raise Unmirrorable(f"{self.trace.describe_short(item.node)} writes several layers, so its weights "
                                   f"cannot keep its module's path")
            return Labelled(self.label(name, prefix), (item,))
        if isinstance(item, Merge):
            return Merge(item.name, tuple(self.nest(b, prefix, entry) for b in item.branches), item.node)
        # a graph label (`x3: …`, read again by `@x3`): the module's own name where it has one
        inner = self.item(item.items[0], prefix, entry, None) if len(item.items) == 1 else None
        if isinstance(inner, Labelled):
            self.final[item.label] = (inner.label, prefix)
            return inner
        if any(isinstance(it, Layer) and self.place(it.node).name for it in item.items):
            raise Unmirrorable(f"the output of {self.trace.describe_short(item.items[0].node)} is read again, and "
                               f"its layers are more than its module's")
        self.final[item.label] = (item.label, prefix)
        return Labelled(item.label, tuple(self.item(it, prefix, entry, None) for it in item.items))

    def label(self, name: str, prefix: tuple) -> str:
        where = ".".join((*prefix, name))
        if name in _NOT_LABELS or not name or any(c in name for c in "\"'\n"):
            raise Unmirrorable(f"the module `{where}` is named `{name}`, which cannot be a label")
        if not _LABEL.fullmatch(name):
            return f'"{name}"'  # a quoted label (RegNet's `block1-0`)
        if not name.isdigit() and hasattr(self.probe, name):
            raise Unmirrorable(f"the module `{where}` is named `{name}`, an attribute of the lowered module")
        return name


def _attrs(node) -> list:
    """The parameters and buffers a call reads: get_attr nodes, or views of one (`self.gamma.view(1, -1, 1, 1)`)."""
    found = []
    for arg in node_args(node):
        if arg.op == "get_attr":
            found.append(arg)
        elif arg.op == "call_method" and arg.args and getattr(arg.args[0], "op", None) == "get_attr":
            found.append(arg.args[0])
    return found
