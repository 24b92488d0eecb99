"""A layer's torch constructor, as the registry writes it (ops.TorchSource), in the form a class needs.

The registry gives the torch class and its arguments; here the arguments become slots (a value per instance,
where the spec wrote it, how a value can be derived, torch's default), so that a class can write them as
expressions of its parameters.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ... import ops


@dataclass(frozen=True)
class Slot:
    keyword: str | None  # None: positional
    values: list  # one per instance (None where the instance has no such layer)
    arg: str | None = None  # the spec argument it comes from (its text is the expression to try)
    channels: bool = False  # the input channels of the layer (derived from the previous layer)
    default: object = None  # torch's default: the keyword is left out when every value equals it
    has_default: bool = False
    role: str = ""  # a name for a constructor parameter, when one is needed


def module_class(op: str, shape, flattening: bool = True) -> str:
    """The class generated source builds the layer with (`nn.Conv2d`); for a feature map that torch's class
    would not flatten, one that does (`FlattenLinear`), unless `flattening` is False (forward flattens)."""
    source = ops.get(op).source
    if flattening and flattens_first(op, shape):
        return source.flattening_cls
    return source.cls.format(rank=max(len(shape) - 1, 1))  # a vector takes the 1-D class


def flattens_first(op: str, shape) -> bool:
    """Whether the layer receives a feature map that its torch class would not flatten (FC after a CONV)."""
    return ops.get(op).source.flattening_cls is not None and len(shape) > 1


def is_inline(col) -> bool:
    """Whether forward writes the layer as an expression rather than as a module (SPLIT: `torch.chunk`)."""
    return col.kind == "layer" and ops.get(col.rep.node.op).source.inline is not None


def layer_slots(items: list) -> list[Slot]:
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
        slots.append(Slot(None if source_arg.positional else source_arg.role, values, arg=source_arg.arg,
                          channels=channels, default=source_arg.default if has_default else None,
                          has_default=has_default, role=source_arg.role))
    return slots


class Channels:
    """A number of channels as an expression in a class's parameters (tree None: unknown), for the registry's
    channel rules to compute with."""

    def __init__(self, tree):
        self.tree = tree

    def _combined(self, other: Channels, operator: ast.operator) -> Channels:
        if self.tree is None or other.tree is None:
            return Channels(None)
        return Channels(_folded(ast.BinOp(self.tree, operator, other.tree)))

    def __add__(self, other: Channels) -> Channels:
        return self._combined(other, ast.Add())

    def __sub__(self, other: Channels) -> Channels:
        return self._combined(other, ast.Sub())

    def __floordiv__(self, other: Channels) -> Channels:
        return self._combined(other, ast.FloorDiv())


def _number(tree) -> int | None:
    return tree.value if isinstance(tree, ast.Constant) and type(tree.value) is int else None


def _folded(tree: ast.BinOp):
    """A sum with its numbers added up: `in_channels + 32 + 32` is `in_channels + 64` (a CONCAT of branches
    whose channels are numbers, DenseNet's)."""
    signs = {ast.Add: 1, ast.Sub: -1}
    sign = signs.get(type(tree.op))
    right = _number(tree.right)
    if sign is None or right is None:
        return tree
    left = _number(tree.left)
    if left is not None:
        return ast.Constant(left + sign * right)
    inner = tree.left
    inner_sign = signs.get(type(inner.op)) if isinstance(inner, ast.BinOp) else None
    inner_right = _number(inner.right) if inner_sign is not None else None
    if inner_right is None:
        return tree
    total = inner_sign * inner_right + sign * right
    if total == 0:
        return inner.left
    return ast.BinOp(inner.left, ast.Add() if total > 0 else ast.Sub(), ast.Constant(abs(total)))
