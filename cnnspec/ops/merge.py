"""Merges: ADD, CONCAT and MUL join parallel branches, written NAME { branch | branch }."""

from __future__ import annotations

import math
from typing import NoReturn

from ..lang.words import shape_text
from .entry import FromTorch, Join, LayerContext, LayerResult, OpSpec, Unimportable, Working, own_module


def _merge_mismatch(ctx: LayerContext, i: int, j: int, needs: str) -> NoReturn:
    shapes = ctx.branches
    ctx.fail(f"{ctx.text}: branch {i + 1} ends with {shape_text(shapes[i])} but branch {j + 1} ends with "
             f"{shape_text(shapes[j])}; {needs}",
             notes=[(f"branch {k + 1} ends here, with {shape_text(shapes[k])}", ctx.branch_spans[k]) for k in (i, j)])


def _add(ctx: LayerContext) -> LayerResult:
    """Equal shapes; a branch of one value per channel (C×1×1, GCNet's fused context) is added at every
    position, as PyTorch broadcasts it."""
    full = max(ctx.branches, key=math.prod)
    for j, shape in enumerate(ctx.branches):
        if shape != full and shape != (full[0], *(1 for _ in full[1:])):
            i = ctx.branches.index(full)
            _merge_mismatch(ctx, min(i, j), max(i, j), f"{ctx.op.name.upper()} needs equal shapes (or one value per "
                                                       f"channel, C×1×1, added at every position)")
    return LayerResult(full)


def _concat(ctx: LayerContext) -> LayerResult:
    first = ctx.branches[0]
    for j, shape in enumerate(ctx.branches[1:], 1):
        if len(shape) != len(first) or shape[1:] != first[1:]:
            what = "the same spatial size" if len(shape) == len(first) else "the same number of axes"
            _merge_mismatch(ctx, 0, j, f"CONCAT joins channels and needs {what}")
    return LayerResult((sum(shape[0] for shape in ctx.branches), *first[1:]))


def _mul(ctx: LayerContext) -> LayerResult:
    """Element-wise product with broadcasting (a gate of C×1×1 scales a C×H×W map)."""
    out = ctx.branches[0]
    for j, shape in enumerate(ctx.branches[1:], 1):
        if len(shape) != len(out) or any(a != b and 1 not in (a, b) for a, b in zip(shape, out)):
            _merge_mismatch(ctx, 0, j, "MUL needs equal sizes, or 1, on every axis")
        out = tuple(max(a, b) for a, b in zip(shape, out))
    return LayerResult(out)


def _add_from_call(ctx) -> list[str]:
    if ctx.bind(("input", "other", "alpha"), {"alpha": 1})["alpha"] != 1:
        raise Unimportable("only a plain sum (alpha=1) is an ADD")
    return []


def _concat_from_call(ctx) -> list[str]:
    bound = ctx.bind(("tensors", "dim"), {"axis": 0})  # torch.concatenate names it axis
    dim = bound.get("dim", bound["axis"])
    if dim % len(ctx.full_out) != 1:
        raise Unimportable(f"it concatenates on axis {dim}; cnnspec's CONCAT joins the channels (dim=1)")
    return []


def _added_channels(channels: tuple):
    """CONCAT's channels: those of its branches added up."""
    total = channels[0]
    for more in channels[1:]:
        total = total + more
    return total


def _concat_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(size=" + ".join(str(shape[0]) for shape in ctx.branches))


ENTRIES = (
    OpSpec("add", "the sum of its branches (a residual connection)", _add, merge=True,
           join=Join(" + ", pair=("out", "identity")),
           aliases={"sum": {}, "residual": {}}, example="ADD { CONV(64, k=3, p=1) -> BN | IDENTITY }",
           module=own_module("Add"), from_modules=(FromTorch(("cnnspec.bridge.modules.Add",)),), elementwise=True,
           from_functions=(FromTorch(("operator.add", "operator.iadd", "torch.add", "Tensor.add",
                                                 "Tensor.add_"), _add_from_call),),
           code_word="sum"),
    OpSpec("concat", "its branches concatenated on the channels", _concat, merge=True,
           join=Join(", ", around="torch.cat([{}], dim=1)", channels=_added_channels),
           aliases={"cat": {}}, example="CONCAT { CONV(64, k=1) | CONV(64, k=3, p=1) }", module=own_module("Concat"),
           from_modules=(FromTorch(("cnnspec.bridge.modules.Concat",)),),
           from_functions=(FromTorch(("torch.cat", "torch.concat", "torch.concatenate"), _concat_from_call),),
           derive=_concat_working, code_word="torch.cat"),
    OpSpec("mul", "the element-wise product of its branches, broadcast (a gate)", _mul, merge=True,
           join=Join(" * ", beside_empty="scale"),
           aliases={"gate": {}}, example="MUL { IDENTITY | GAP -> CONV(16, k=1) -> SIGMOID }", module=own_module("Mul"),
           elementwise=True,
           from_modules=(FromTorch(("cnnspec.bridge.modules.Mul",)),),
           from_functions=(FromTorch(("operator.mul", "operator.imul", "torch.mul", "Tensor.mul", "Tensor.mul_")),),
           code_word="product"),
)
