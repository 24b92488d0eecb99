"""Tensors whose axes a forward has moved: what the permutes, transposes and views of a traced graph mean.

A value is in one of these layouts (None: channels first, as cnnspec's layers take them):
- `channels_last`, after `x.permute(0, 2, 3, 1)`: ConvNeXt's blocks and LayerNorm2d, whose layer norm and
  linear layers then act on the channels of each position; `permute(0, 3, 1, 2)` ends it.
- `("grouped", g)`, after `x.view(b, g, c // g, h, w)`, and `("shuffled", g)` after that view's axes 1 and 2
  are swapped: the channel shuffle of ShuffleNet, which a view back to `(b, c, h, w)` ends.
A layout op writes no layer (the swap of a grouped view writes CHANNELSHUFFLE); every other call that reads
a moved tensor must say it can (an element-wise layer, or a writer that reads `ctx.layout`), or is refused.
"""

from __future__ import annotations

from ...lang.words import shape_text
from ...ops import CHANNELS_LAST, Unimportable, layer_text
from .kinds import call_key, kinds
_VIEWS = (".view", ".reshape", "reshape", ".flatten", "flatten")


def layout_text(layout) -> str:
    if layout == CHANNELS_LAST:
        return "with its channels last (after a permute)"
    return f"with its channels viewed as {layout[1]} groups (a channel shuffle not finished)"


def _name(node) -> str:
    if node.op == "call_method":
        return "." + node.target
    return getattr(node.target, "__name__", "")


def moved(ctx, layout) -> tuple[tuple[str, ...], object] | None:
    """(the layers written, the output's layout) for a call that moves axes, given the layout of its input;
    None for any other call."""
    name = _name(ctx.node)
    is_move = ctx.node.op != "call_module" and call_key(ctx.node) in kinds().moves  # a permute or transpose
    if ctx.node.op not in ("call_method", "call_function") or not (is_move or name in _VIEWS):
        return None  # a copy (`contiguous`) keeps the layout as every layer the importer accepts on one does
    before, after = ctx.full_in, ctx.full_out
    if is_move:
        order = _order(ctx, name, len(before))
        rank = len(before) - 2  # spatial axes of a channels-first tensor
        if layout is None and order == (0, *range(2, rank + 2), 1):
            return (), CHANNELS_LAST
        if layout == CHANNELS_LAST and order == (0, rank + 1, *range(1, rank + 1)):
            return (), None
        if isinstance(layout, tuple) and layout[0] == "grouped" and order[:3] == (0, 2, 1) and \
                order[3:] == tuple(range(3, len(before))):
            return (layer_text("CHANNELSHUFFLE", layout[1]),), ("shuffled", layout[1])
        if layout is None and order == tuple(range(len(before))):
            return (), None
        raise Unimportable(f"it moves the axes of {shape_text(before)} to the order {order}; cnnspec reads only a "
                           f"move of the channels last and back (ConvNeXt), and a channel shuffle's swap")
    # a view, reshape or flatten
    if layout is None and len(after) == len(before) + 1 and after[0] == before[0] and after[3:] == before[2:] \
            and after[1] * after[2] == before[1] and after[1] > 1:
        return (), ("grouped", after[1])
    if isinstance(layout, tuple) and layout[0] == "shuffled" and len(after) == len(before) - 1 and \
            after[0] == before[0] and after[1] == before[1] * before[2] and after[2:] == before[3:]:
        return (), None
    if layout is not None:
        raise Unimportable(f"it reshapes a tensor {layout_text(layout)}, which cnnspec cannot follow")
    return None  # a flatten or a no-op: the registry's writer


def _order(ctx, name: str, rank: int) -> tuple[int, ...]:
    args = ctx.args[1:]
    if name.endswith("transpose"):
        a, b = (int(v) % rank for v in args[:2])
        order = list(range(rank))
        order[a], order[b] = order[b], order[a]
        return tuple(order)
    dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    if not dims:
        dims = ctx.kwargs.get("dims", ())
    return tuple(int(d) % rank for d in dims)

