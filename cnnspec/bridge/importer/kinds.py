"""Which layer kind a traced module or call is: the registry's FromTorch records (`ops/`) as tables of torch
classes and functions, built once, with the few calls that are no layer of their own (copies, chunks and
the arithmetic of sizes)."""

from __future__ import annotations

import importlib
import operator
from dataclasses import dataclass
from functools import lru_cache

from ... import ops
from ...ops import FromTorch, OpSpec

# Copies write no layer. A chunk's pieces, taken by index, are SPLITs, and a split's are SLICEs; the chunk or
# split itself is none.
_COPIES = FromTorch(("Tensor.contiguous", "Tensor.clone", "Tensor.detach"), lambda ctx: [])
_CHUNKS = ("torch.chunk", "Tensor.chunk", "torch.split", "Tensor.split")
# Moves of axes: what they mean is the layouts module's (a channels-last stretch, a channel shuffle).
_MOVES = ("torch.permute", "Tensor.permute", "torch.transpose", "Tensor.transpose")


@dataclass(frozen=True, slots=True)
class Kinds:
    """The registry's torch side as tables; a kind is (op, form), op None for a copy."""

    classes: dict  # {module class: kind}
    by_name: tuple  # ((package, class name, kind), …): classes of packages cnnspec does not import
    functions: dict  # {fx target, or `.name` for a Tensor method: kind}
    chunks: frozenset
    sizes: frozenset  # what computes sizes from shapes (`x.size(0)`, `n // 2`): read by the layers using them
    moves: frozenset  # permutes and transposes

    def of_module(self, module) -> tuple[OpSpec, FromTorch] | None:
        """The kind a module imports as; None for one to trace through or to refuse. A subclass counts as its
        base only when it keeps the base's forward."""
        for package, name, kind in self.by_name:  # first: timm's StdConv2d is an nn.Conv2d of another forward
            if type(module).__name__ == name and type(module).__module__.startswith(package):
                return kind
        for cls in type(module).__mro__:
            if cls in self.classes:
                return self.classes[cls] if type(module).forward is cls.forward else None
        return None

    def of_node(self, node, root) -> tuple[OpSpec | None, FromTorch] | None:
        """The kind of an fx node that calls a module (of `root`, the traced model), a function or a method; None
        for any other."""
        if node.op == "call_module":
            return self.of_module(root.get_submodule(node.target))
        if node.op not in ("call_function", "call_method"):
            return None
        try:
            return self.functions.get(call_key(node))
        except TypeError:  # an unhashable target
            return None

    def known(self, node, root) -> bool:
        """Whether the importer reads a call: one of a layer kind, a copy, a chunk or the arithmetic of sizes."""
        if self.of_node(node, root) is not None:
            return True
        try:
            key = call_key(node)
            return node.op != "call_module" and (key in self.chunks or key in self.sizes or key in self.moves)
        except TypeError:
            return False


def call_key(node):
    """What the tables know a call by: the function fx calls, or `.name` for a method."""
    return "." + node.target if node.op == "call_method" else node.target


@lru_cache(maxsize=1)
def kinds() -> Kinds:
    classes, by_name, functions = {}, [], {}
    for op in ops.OPS:
        for form in op.from_modules:
            for dotted in form.names:
                if form.by_name:
                    by_name.append((dotted.partition(".")[0], dotted.rpartition(".")[2], (op, form)))
                elif (cls := _torch_object(dotted)) is not None:
                    classes[cls] = (op, form)
        for form in op.from_functions:
            functions.update(dict.fromkeys(_function_keys(form.names), (op, form)))
    functions.update(dict.fromkeys(_function_keys(_COPIES.names), (None, _COPIES)))
    sizes = {getattr, ".size", ".dim", operator.getitem, operator.floordiv, operator.sub, operator.truediv,
             operator.neg, len}
    return Kinds(classes, tuple(by_name), functions, frozenset(_function_keys(_CHUNKS)), frozenset(sizes),
                 frozenset(_function_keys(_MOVES)))


def _torch_object(dotted: str):
    """The class or function a registry name (`torch.nn.Conv2d`) stands for; None if this torch lacks it."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name, None)


def _function_keys(names):
    """The keys fx gives the calls of registry names: the function itself, or `.name` for `Tensor.name`."""
    for dotted in names:
        if dotted.startswith("Tensor."):
            yield "." + dotted.removeprefix("Tensor.")
        elif (function := _torch_object(dotted)) is not None:
            yield function
